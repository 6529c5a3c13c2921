//! The weighted operation mix and how each operation builds its request.

use rand::{Rng, RngExt};
use serde_json::Value;

use super::args::{ArgTemplate, CapturePool, CaptureSpec};
use crate::mcp::McpRequest;

/// The MCP method an operation sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// `tools/call` of the named tool.
    ToolsCall {
        /// The tool's name as the server lists it.
        tool: String,
    },
    /// `tools/list`.
    ToolsList,
    /// `resources/list`.
    ResourcesList,
    /// `resources/read` of one URI.
    ResourcesRead {
        /// The resource's URI.
        uri: String,
    },
    /// `prompts/list`.
    PromptsList,
    /// `prompts/get` of the named prompt.
    PromptsGet {
        /// The prompt's name.
        name: String,
    },
    /// `ping`.
    Ping,
}

impl Method {
    /// Parses a method name as written in a mix (`tools/list`, `ping`, ...); `tools/call`,
    /// `resources/read` and `prompts/get` need their target and are built elsewhere.
    pub fn parse_simple(method: &str) -> Option<Method> {
        match method {
            "tools/list" => Some(Method::ToolsList),
            "resources/list" => Some(Method::ResourcesList),
            "prompts/list" => Some(Method::PromptsList),
            "ping" => Some(Method::Ping),
            _ => None,
        }
    }
}

/// One weighted operation of the mix.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Label in metrics and reports: the tool name for `tools/call`, else the method (`tools/list`).
    pub name: String,
    /// What the operation sends.
    pub method: Method,
    /// Relative share of the calls (0 = never picked; the weights are not all 0).
    pub weight: u32,
    /// Arguments for `tools/call` / `prompts/get`.
    pub args: ArgTemplate,
    /// Values to take from this operation's results into named pools.
    pub captures: Vec<CaptureSpec>,
    /// Optional ceiling for this operation alone (calls/s).
    pub max_rate: Option<f64>,
    /// The config explicitly allows calling this tool although the server marks it destructive.
    pub allow_destructive: bool,
}

impl Operation {
    /// A `tools/call` of `tool` with `{}` arguments, no captures.
    pub fn tool(tool: impl Into<String>, weight: u32) -> Operation {
        let tool = tool.into();
        Operation::of(tool.clone(), Method::ToolsCall { tool }, weight)
    }

    /// An operation of any method, labelled `name`, with `{}` arguments, no captures.
    pub fn of(name: impl Into<String>, method: Method, weight: u32) -> Operation {
        Operation {
            name: name.into(),
            method,
            weight,
            args: ArgTemplate::default(),
            captures: Vec::new(),
            max_rate: None,
            allow_destructive: false,
        }
    }

    /// Builds the next request: generators drawn from `rng`, captured values from `pool`.
    pub fn build_request<R: Rng + ?Sized>(&self, rng: &mut R, pool: &CapturePool) -> McpRequest {
        match &self.method {
            Method::ToolsCall { tool } => McpRequest::ToolsCall {
                name: tool.clone(),
                arguments: self.args.render(rng, pool),
            },
            Method::ToolsList => McpRequest::ToolsList,
            Method::ResourcesList => McpRequest::ResourcesList,
            Method::ResourcesRead { uri } => McpRequest::ResourcesRead { uri: uri.clone() },
            Method::PromptsList => McpRequest::PromptsList,
            Method::PromptsGet { name } => McpRequest::PromptsGet {
                name: name.clone(),
                arguments: self.args.render(rng, pool),
            },
            Method::Ping => McpRequest::Ping,
        }
    }

    /// True when results must be kept (the operation captures values).
    pub fn wants_result(&self) -> bool {
        !self.captures.is_empty()
    }

    /// Takes this operation's captures out of a successful result (missing values are skipped).
    pub fn capture(&self, result: &Value, pool: &CapturePool) {
        for spec in &self.captures {
            if let Some(v) = spec.extract(result) {
                pool.push(&spec.pool, v);
            }
        }
    }
}

/// The operations and their weights.
#[derive(Debug, Clone, Default)]
pub struct Mix {
    /// Every operation of the run, in config order (names unique).
    pub ops: Vec<Operation>,
}

impl Mix {
    /// Sum of the weights.
    pub fn total_weight(&self) -> u64 {
        self.ops.iter().map(|o| u64::from(o.weight)).sum()
    }

    /// Picks an operation index with probability weight / total weight. The config guarantees a
    /// non-empty mix with a positive total; an empty or all-zero mix gives 0.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.pick_among(rng, |_| true).unwrap_or(0)
    }

    /// Like [`Mix::pick`], among the operations whose arguments are ready: an operation that
    /// reads a capture pool without a `fallback` waits until the pool has a value (a
    /// `verify_payment` before the first `create_payment` answered would only fail). The drawn
    /// operation is checked alone (the common case: one template walk per call); only when it must
    /// wait is another drawn by weight among the ready ones. With every operation ready it draws
    /// exactly as `pick` does; with none ready, the first pick stands.
    pub fn pick_ready<R: Rng + ?Sized>(&self, rng: &mut R, pool: &CapturePool) -> usize {
        let first = self.pick(rng);
        if self.ops.get(first).is_none_or(|op| op.args.ready(pool)) {
            return first;
        }
        self.pick_among(rng, |op| op.args.ready(pool))
            .unwrap_or(first)
    }

    fn pick_among<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        eligible: impl Fn(&Operation) -> bool,
    ) -> Option<usize> {
        let weight = |op: &Operation| {
            if eligible(op) {
                u64::from(op.weight)
            } else {
                0
            }
        };
        let total: u64 = self.ops.iter().map(weight).sum();
        if total == 0 {
            return None;
        }
        let mut x = rng.random_range(0..total);
        for (i, op) in self.ops.iter().enumerate() {
            let w = weight(op);
            if x < w {
                return Some(i);
            }
            x -= w;
        }
        Some(self.ops.len().saturating_sub(1))
    }

    /// Index of the operation called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.ops.iter().position(|o| o.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    /// `create_payment` capturing `/payment_id` into `ids`, `verify_payment` reading it.
    fn create_and_verify() -> (Operation, Operation) {
        let mut create = Operation::tool("create_payment", 1);
        create.captures = vec![CaptureSpec {
            pool: "ids".into(),
            pointer: "/payment_id".into(),
        }];
        let mut verify = Operation::tool("verify_payment", 1);
        verify.args =
            ArgTemplate::parse(&json!({"payment_id": {"capture": "ids"}})).expect("parses");
        (create, verify)
    }

    #[test]
    fn pick_ready_waits_for_captures() {
        let (create, mut verify) = create_and_verify();
        verify.weight = 3;
        let mut with_fallback = Operation::tool("lookup", 1);
        with_fallback.args =
            ArgTemplate::parse(&json!({"id": {"capture": "ids", "fallback": "x"}}))
                .expect("parses");
        let mix = Mix {
            ops: vec![create, verify, with_fallback],
        };
        let pool = CapturePool::default();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            assert_ne!(mix.pick_ready(&mut rng, &pool), 1, "verify waits for an id");
        }
        mix.ops[0].capture(&json!({"structuredContent": {"payment_id": "p1"}}), &pool);
        let picks: Vec<usize> = (0..400).map(|_| mix.pick_ready(&mut rng, &pool)).collect();
        assert!(
            picks.iter().filter(|&&i| i == 1).count() > 200,
            "then gets its weight"
        );
        // Every operation ready: the same draws as `pick`.
        let (mut a, mut b) = (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
        for _ in 0..100 {
            assert_eq!(mix.pick_ready(&mut a, &pool), mix.pick(&mut b));
        }
    }

    #[test]
    fn pick_follows_weights() {
        let mix = Mix {
            ops: vec![
                Operation::tool("a", 40),
                Operation::tool("b", 0),
                Operation::tool("c", 60),
            ],
        };
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[mix.pick(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((38_500..41_500).contains(&counts[0]), "{counts:?}");
        assert!((58_500..61_500).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn operations_waiting_on_an_empty_capture_give_way() {
        let pool = CapturePool::default();
        let mut create = Operation::tool("create", 1);
        create.captures.push(CaptureSpec {
            pool: "ids".into(),
            pointer: "/id".into(),
        });
        let mut verify = Operation::tool("verify", 3);
        verify.args = ArgTemplate::parse(&json!({"id": {"capture": "ids"}})).expect("template");
        let mut lenient = Operation::tool("lenient", 0);
        lenient.args = ArgTemplate::parse(&json!({"id": {"capture": "ids", "fallback": "x"}}))
            .expect("template");
        let mix = Mix {
            ops: vec![create, verify, lenient],
        };
        let mut rng = StdRng::seed_from_u64(3);
        assert!((0..1_000).all(|_| mix.pick_ready(&mut rng, &pool) == 0));
        pool.push("ids", json!("a"));
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[mix.pick_ready(&mut rng, &pool)] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((29_000..31_000).contains(&counts[1]), "{counts:?}");
        // Nothing can go: the first pick stands (the request then shows the empty capture).
        let only = Mix {
            ops: vec![mix.ops[1].clone()],
        };
        assert_eq!(only.pick_ready(&mut rng, &CapturePool::default()), 0);
    }

    #[test]
    fn seeded_requests_repeat() {
        let mut op = Operation::tool("create_payment", 1);
        op.args = ArgTemplate::parse(
            &json!({"amount": {"gen": "decimal", "min": 1, "max": 500}, "id": {"gen": "uuid"}}),
        )
        .expect("parses");
        let mix = Mix {
            ops: vec![
                op.clone(),
                Operation::of("tools/list", Method::ToolsList, 1),
            ],
        };
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let pool = CapturePool::default();
            (0..50)
                .map(|_| mix.ops[mix.pick(&mut rng)].build_request(&mut rng, &pool))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn capture_then_build() {
        let (create, verify) = create_and_verify();
        let pool = CapturePool::default();
        create.capture(
            &json!({"structuredContent": {"payment_id": "pay_1"}}),
            &pool,
        );
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            verify.build_request(&mut rng, &pool),
            McpRequest::ToolsCall {
                name: "verify_payment".into(),
                arguments: json!({"payment_id": "pay_1"})
            }
        );
    }
}
