//! Configuration: built-in defaults < config file (TOML or YAML) < environment (`MCP_SOAK_…`) < flags,
//! lowered into one [`crate::plan::Plan`]. A mistake names the source, the key and what was expected.
