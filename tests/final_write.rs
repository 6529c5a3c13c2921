//! Nothing blocks the runtime at the end of a run: while the raw stream's last flush and fsync are
//! stuck (the raw file is a FIFO nobody reads yet), `/metrics` still answers the final scrape on the
//! single-threaded runtime; once the reader drains the FIFO the run ends normally with every line.

mod support;

use std::io::Read;
use std::time::Duration;

use mcp_soak::mock::MockConfig;
use support::{Soak, get, mock, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_while_the_final_write_is_blocked() {
    let m = mock(MockConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("raw.fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(st.success());
    // The reader opens the FIFO at once (so the run can open it to write) but reads only when told:
    // until then the writer's last flush (more than a pipe's 64 KiB) cannot finish.
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::open(&reader_path).expect("open fifo for reading");
        let _ = go_rx.recv();
        let mut all = String::new();
        f.read_to_string(&mut all).expect("read fifo");
        all.lines().count()
    });
    let summary = dir.path().join("summary.json");
    let mut soak = Soak::start(
        dir.path(),
        &[
            "run",
            "--url",
            &m.url,
            "--mix",
            "list_clusters=1",
            "--rate",
            "500",
            "--max-calls",
            "1000",
            "--duration",
            "30s",
            "--raw",
            fifo.to_str().expect("utf-8"),
            "--metrics-listen",
            "127.0.0.1:0",
            "--linger",
            "0s",
            "--quiet",
            "--summary",
            summary.to_str().expect("utf-8"),
        ],
        &[],
    );
    let addr = soak.metrics_addr().await;
    wait_until(
        Duration::from_secs(60),
        "every call to reach the mock",
        || m.stats().total_calls() >= 1000,
    )
    .await;
    // The schedule is over; the report is stuck behind the raw file's final flush.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(soak.child.try_wait().expect("try_wait").is_none());
    assert!(!summary.exists(), "the report waits for the raw stream");
    let scrape = tokio::time::timeout(
        Duration::from_secs(10),
        get(&format!("http://{addr}/metrics")),
    )
    .await
    .expect("/metrics answers during the final write");
    assert_eq!(scrape.0, 200);
    assert!(scrape.1.contains("mcp_soak_calls_total"), "{}", scrape.1);

    go_tx.send(()).expect("reader waiting");
    let st = soak.wait(Duration::from_secs(60)).await;
    assert_eq!(st.code(), Some(0), "{}", soak.stderr());
    let lines = reader.join().expect("reader thread");
    assert_eq!(lines, 1000, "every call has its raw line");
    assert!(summary.exists());
    m.shutdown().await;
}
