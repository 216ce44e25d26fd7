//! The blob store for uploaded files, on a local directory and on a real S3-compatible server.
//!
//! Every storage test runs twice: on a fresh local directory, and on S3 under a fresh key
//! prefix when `TRAMITE_TEST_S3` names an endpoint (`http://127.0.0.1:9000`; `scripts/test`
//! starts a `moto` server there and sets it). The bucket is `TRAMITE_TEST_S3_BUCKET`
//! (`tramite-test`), created if missing. Without `TRAMITE_TEST_S3` the S3 runs say so and pass.

mod files;
mod target;

use std::task::Poll;

use bytes::Bytes;
use tramite::blobs::{BlobError, BlobRef, sniff};

use files::{XLS, XLSX, compound_file, workbook};
use target::{Place, Target, layout};

/// Runs a storage test on a local directory and, when one is named, on S3.
macro_rules! on_both {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local() {
                super::$test(super::Target::local(stringify!($test))).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                if let Some(target) = super::Target::s3(stringify!($test)).await {
                    super::$test(target).await;
                }
            }
        }
    )*};
}

on_both!(
    round_trip_is_byte_identical,
    the_same_content_is_stored_once,
    concurrent_puts_of_one_content_store_one_object,
    a_stored_blob_is_never_rewritten_and_is_checked_when_read,
    what_put_sniffs_is_what_sniff_says,
    a_stream_over_the_limit_stores_nothing,
    a_failing_stream_stores_nothing,
    a_cancelled_upload_stores_nothing,
);

fn chunks(bytes: &[u8], size: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let parts: Vec<_> = bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures_util::stream::iter(parts)
}

// ---- storage -----------------------------------------------------------------------------------

async fn round_trip_is_byte_identical(t: Target) {
    let contents: [Vec<u8>; 3] =
        [b"folio,fecha\n1,2025-03-01\n".to_vec(), Vec::new(), (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect()];
    for content in contents {
        let blob = t.blobs.put(content.clone()).await.unwrap();
        assert_eq!(blob.size, content.len() as u64);
        assert_eq!(blob.sha256, sha256_hex(&content));
        assert_eq!(t.blobs.get(&blob.sha256).await.unwrap(), content);
        assert!(t.blobs.exists(&blob.sha256).await.unwrap());
        assert_eq!(t.blobs.get(&blob.sha256.to_uppercase()).await.unwrap(), content, "keys are case-insensitive");
    }
    let streamed: Vec<u8> = (0..200_000u32).map(|i| (i % 13) as u8).collect();
    let blob = t.blobs.put_stream(chunks(&streamed, 7_000)).await.unwrap();
    assert_eq!(blob.sha256, sha256_hex(&streamed));
    assert_eq!(t.blobs.get(&blob.sha256).await.unwrap(), streamed);

    let absent = sha256_hex(b"never stored");
    assert!(!t.blobs.exists(&absent).await.unwrap());
    assert!(matches!(t.blobs.get(&absent).await, Err(BlobError::NotFound(k)) if k == absent));
    assert!(matches!(t.blobs.get("../../etc/passwd").await, Err(BlobError::InvalidKey(_))));
    assert!(matches!(t.blobs.exists("sha256/ab").await, Err(BlobError::InvalidKey(_))));
}

async fn the_same_content_is_stored_once(t: Target) {
    let content = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
    let first = t.blobs.put(&content[..]).await.unwrap();
    let before = local_identity(&t, &first);
    let second = t.blobs.put_stream(chunks(content, 5)).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(local_identity(&t, &first), before, "the stored file was rewritten");
    assert_eq!(t.objects().await, objects_of(&[&first]));
}

async fn concurrent_puts_of_one_content_store_one_object(t: Target) {
    let content = Bytes::from((0..50_000u32).map(|i| (i % 97) as u8).collect::<Vec<u8>>());
    let uploads: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn({
                let (blobs, content) = (t.blobs.clone(), content.clone());
                async move { blobs.put(content).await.unwrap() }
            })
        })
        .collect();
    let mut stored = Vec::new();
    for upload in uploads {
        stored.push(upload.await.unwrap());
    }
    assert!(stored.windows(2).all(|w| w[0] == w[1]), "{stored:?}");
    assert_eq!(t.objects().await, objects_of(&[&stored[0]]));
    assert_eq!(t.blobs.get(&stored[0].sha256).await.unwrap(), content);
}

async fn a_stored_blob_is_never_rewritten_and_is_checked_when_read(t: Target) {
    let content = b"Acta de la mesa de trabajo, firmada.".to_vec();
    let blob = t.blobs.put(content.clone()).await.unwrap();
    t.tamper(&blob.sha256, b"Acta alterada").await;
    // Uploading the same content again sends nothing, so the damage stays, and reading finds it.
    assert_eq!(t.blobs.put(content).await.unwrap(), blob);
    let read = t.blobs.get(&blob.sha256).await;
    assert!(matches!(&read, Err(BlobError::Corrupt(key)) if *key == blob.sha256), "{read:?}");
    assert!(t.blobs.exists(&blob.sha256).await.unwrap());
}

async fn what_put_sniffs_is_what_sniff_says(t: Target) {
    // A workbook streamed in small chunks, and an XLS larger than the part sniffed first
    // (its directory lies past it).
    let xlsx = workbook();
    let blob = t.blobs.put_stream(chunks(&xlsx, 1_000)).await.unwrap();
    assert_eq!(blob.mime, Some(XLSX));
    let xls = compound_file("Workbook", 300_000);
    assert_eq!(sniff(&xls[..64 * 1024]), Some("application/x-ole-storage"), "the test needs the whole file");
    let blob = t.blobs.put_stream(chunks(&xls, 16_000)).await.unwrap();
    assert_eq!(blob.mime, Some(XLS));
    assert_eq!(t.blobs.put(b"folio;tema\n1;queja\n".to_vec()).await.unwrap().mime, Some("text/plain"));
    assert_eq!(t.blobs.put(vec![0u8, 1, 2, 3]).await.unwrap().mime, None);
}

async fn a_stream_over_the_limit_stores_nothing(t: Target) {
    let blobs = t.blobs.clone().with_max_size(10_000);
    let content = vec![42u8; 16_000];
    let result = blobs.put_stream(chunks(&content, 4_000)).await;
    assert!(matches!(result, Err(BlobError::TooLarge { limit: 10_000 })), "{result:?}");
    assert!(matches!(blobs.put(content.clone()).await, Err(BlobError::TooLarge { .. })));
    assert_eq!(t.objects().await, Vec::<String>::new());
    assert!(!t.blobs.exists(&sha256_hex(&content)).await.unwrap());

    let at_the_limit = blobs.put_stream(chunks(&content[..10_000], 4_000)).await.unwrap();
    assert_eq!(at_the_limit.size, 10_000);
    assert_eq!(t.objects().await, objects_of(&[&at_the_limit]));
}

async fn a_failing_stream_stores_nothing(t: Target) {
    let parts = vec![
        Ok(Bytes::from(vec![1u8; 5_000])),
        Ok(Bytes::from(vec![2u8; 5_000])),
        Err(std::io::Error::other("client went away")),
    ];
    let result = t.blobs.put_stream(futures_util::stream::iter(parts)).await;
    assert!(matches!(&result, Err(BlobError::Upload(e)) if e.to_string() == "client went away"), "{result:?}");
    assert_eq!(t.objects().await, Vec::<String>::new());
}

async fn a_cancelled_upload_stores_nothing(t: Target) {
    // The stream gives one chunk, then says it was asked for more and never answers; the upload
    // is dropped at that point, its first chunk written.
    let (asked, mut asked_rx) = tokio::sync::oneshot::channel::<()>();
    let mut asked = Some(asked);
    let mut first = Some(Bytes::from(vec![9u8; 20_000]));
    let stream = futures_util::stream::poll_fn(move |_| match first.take() {
        Some(chunk) => Poll::Ready(Some(Ok::<_, std::io::Error>(chunk))),
        None => {
            if let Some(asked) = asked.take() {
                let _ = asked.send(());
            }
            Poll::Pending
        }
    });
    let upload = t.blobs.put_stream(stream);
    tokio::select! {
        result = upload => panic!("the upload ended: {result:?}"),
        _ = &mut asked_rx => {}
    }
    assert_eq!(t.objects().await, Vec::<String>::new());
}

/// The local file's inode and modification time, to tell a rewrite; nothing on S3.
fn local_identity(t: &Target, blob: &BlobRef) -> Option<(u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let Place::Local(root) = &t.place else { return None };
    let meta = std::fs::metadata(root.join(layout(&blob.sha256))).unwrap();
    Some((meta.ino(), meta.modified().unwrap()))
}

fn objects_of(blobs: &[&BlobRef]) -> Vec<String> {
    let mut names: Vec<_> = blobs.iter().map(|b| layout(&b.sha256)).collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}
