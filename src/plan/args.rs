//! Argument generators: static JSON, random values, sequences, captures from earlier results, and
//! `auto` arguments built from a tool's `inputSchema`.

/// A JSON template whose leaves may be generators. (Stub: the load engine issue fills it in.)
#[derive(Debug, Clone, Default)]
pub struct ArgTemplate {}

/// Where to take a captured value from (a JSON pointer into the result) and which pool to put it in.
#[derive(Debug, Clone)]
pub struct CaptureSpec {
    pub pool: String,
    pub pointer: String,
}

/// Named bounded pools of captured values, shared by every call of a run.
#[derive(Debug, Default)]
pub struct CapturePool {}
