//! HDR histograms as text inside the JSON summary, so that summaries of shards merge exactly.
//!
//! The encoding is HdrHistogram's own interchange format: the V2 serialization compressed with
//! deflate, then base64 (standard alphabet, padded) — the form HdrHistogram's log files use, so the
//! Java, Go and Python libraries read it too. Adding decoded histograms is exact: the merged
//! percentiles are those of one histogram that saw every call.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mcp::OutcomeKind;
use crate::record::Snapshot;
use crate::record::snapshot::Hist;

/// Name of the encoding, written next to the histograms in the summary.
pub const ENCODING: &str = "hdr-v2-deflate-base64";

/// A histogram that could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HdrError {
    /// The text is not base64.
    #[error("not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HDR histogram.
    #[error("not an HDR histogram: {0:?}")]
    Decode(hdrhistogram::serialization::DeserializeError),
    /// A histogram could not be encoded.
    #[error("cannot encode the histogram: {0:?}")]
    Encode(hdrhistogram::serialization::V2DeflateSerializeError),
}

/// `h` as base64 of its compressed V2 serialization.
pub fn encode(h: &Hist) -> Result<String, HdrError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(HdrError::Encode)?;
    Ok(STANDARD.encode(bytes))
}

/// The histogram [`encode`] wrote.
pub fn decode(text: &str) -> Result<Hist, HdrError> {
    let bytes = STANDARD.decode(text.trim())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(HdrError::Decode)
}

/// Every histogram a summary is computed from (the run's are the sums of the operations').
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Histograms {
    /// Always [`ENCODING`]; values are microseconds.
    pub encoding: String,
    /// Per operation, in plan order.
    pub ops: Vec<OpHistograms>,
    /// Per stage, in plan order.
    pub stages: Vec<HistPair>,
    /// The drain (calls that ended after the schedule stopped).
    pub drain: HistPair,
    /// Latency of the calls that got no answer, per outcome kind (kinds seen only).
    pub failed_latency: Vec<KindHistogram>,
    /// Actual send − intended send.
    pub schedule_lag: String,
}

/// The latency of the unanswered calls of one outcome kind, encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KindHistogram {
    /// The outcome kind of those calls.
    pub kind: OutcomeKind,
    /// Their latency from the intended send, µs, V2-deflate HDR histogram in base64.
    pub latency: String,
}

/// One operation's histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OpHistograms {
    /// The operation's name, as in the mix.
    pub name: String,
    /// Its `corrected` and `service` histograms.
    #[serde(flatten)]
    pub hists: HistPair,
    /// From the intended send, successful calls only (the SLO latency SLI).
    pub ok: String,
}

/// Latency from the intended send (`corrected`) and from the actual send (`service`), encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistPair {
    /// From the intended send, µs, V2-deflate HDR histogram in base64.
    pub corrected: String,
    /// From the actual send, µs, same encoding.
    pub service: String,
}

impl HistPair {
    fn of(corrected: &Hist, service: &Hist) -> Result<Self, HdrError> {
        Ok(HistPair {
            corrected: encode(corrected)?,
            service: encode(service)?,
        })
    }

    /// The decoded (corrected, service) pair.
    pub fn decode(&self) -> Result<(Hist, Hist), HdrError> {
        Ok((decode(&self.corrected)?, decode(&self.service)?))
    }
}

impl Histograms {
    /// The histograms of a snapshot.
    pub fn of(snap: &Snapshot) -> Result<Self, HdrError> {
        Ok(Histograms {
            encoding: ENCODING.to_owned(),
            ops: snap
                .ops
                .iter()
                .map(|o| {
                    Ok(OpHistograms {
                        name: o.name.clone(),
                        hists: HistPair::of(&o.latency, &o.service)?,
                        ok: encode(&o.ok_latency)?,
                    })
                })
                .collect::<Result<_, HdrError>>()?,
            stages: snap
                .stages
                .iter()
                .map(|s| HistPair::of(&s.latency, &s.service))
                .collect::<Result<_, _>>()?,
            drain: HistPair::of(&snap.drain.latency, &snap.drain.service)?,
            failed_latency: snap
                .failed_latency
                .iter()
                .map(|(kind, h)| {
                    Ok(KindHistogram {
                        kind: *kind,
                        latency: encode(h)?,
                    })
                })
                .collect::<Result<_, HdrError>>()?,
            schedule_lag: encode(&snap.schedule_lag)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_count() {
        let mut h = crate::record::new_hist().expect("hist");
        for v in [1, 7, 999, 1_000, 1_001, 45_678, 3_600_000_000] {
            h.record_n(v, v % 13 + 1).expect("in range");
        }
        let back = decode(&encode(&h).expect("encode")).expect("decode");
        assert_eq!(back, h);
        assert_eq!(back.value_at_quantile(0.95), h.value_at_quantile(0.95));
        let empty = crate::record::new_hist().expect("hist");
        assert_eq!(
            decode(&encode(&empty).expect("encode")).expect("decode"),
            empty
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(decode("not base64!"), Err(HdrError::Base64(_))));
        assert!(matches!(decode("aGVsbG8="), Err(HdrError::Decode(_))));
    }
}
