//! The crash loop, short: 10 rounds of mixed uploads through both faces, each ended by a
//! SIGKILL at a random moment, then a restart. No acknowledged upload is lost, every one
//! reaches its outcome, and fsck is clean. `assetlib-reliability crash-loop` runs 100 rounds
//! (docs/RELIABILITY.md).

use assetlib_test_support::crash_loop::{self, Media, Options};

use crate::common::{BIN, client, media};
use crate::corpus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rounds_of_sigkill_lose_no_acknowledged_upload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut mix = vec![
        Media::new(
            "good.png",
            media::png(500, 400),
            "image/png",
            "Image",
            "Active",
        ),
        Media::new(
            "photo.jpg",
            media::jpeg(640, 480),
            "image/jpeg",
            "Image",
            "Active",
        )
        .with_variants(),
        Media::new(
            "tiny.png",
            media::png(50, 40),
            "image/png",
            "Image",
            "Failed",
        ),
        // Slow enough to process that kills land in the middle of it.
        Media::new(
            "clip.mp4",
            corpus::read("v-720p-h264-aac.mp4"),
            "video/mp4",
            "Video",
            "Active",
        )
        .with_variants(),
    ];
    mix.extend(crash_loop::audio_and_documents());
    let mut options = Options::new(BIN, dir.path().join("data"), 10);
    options.uploads_per_round = 8;
    let report = crash_loop::run_loop(&options, &mix, &client())
        .await
        .expect("the loop runs");
    eprintln!("{}", report.markdown());
    assert!(report.ok(), "{}", report.markdown());
    assert!(
        report.acknowledged >= 10,
        "too few uploads were acknowledged to prove anything: {}",
        report.markdown()
    );
}
