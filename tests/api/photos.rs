//! Report photos as a phone sends them: decoded before they are kept (a JPEG signature over
//! garbage, or a small file claiming huge dimensions, is refused and nothing is stored), the
//! original with its EXIF to the bureau, and to the public a copy re-encoded without metadata.

use std::process::Command;

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A 1600×1200 JPEG as a camera app writes it, made by an image library (Pillow): EXIF with the
/// phone's model, the GPS position of the site and orientation 6 (the phone was held upright).
fn camera_photo() -> Vec<u8> {
    let python = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let script = r#"
import io, sys
from PIL import Image
img = Image.new("RGB", (1600, 1200))
px = img.load()
for x in range(0, 1600, 8):
    for y in range(0, 1200, 8):
        px[x, y] = (x % 256, y % 256, (x + y) % 256)
exif = Image.Exif()
exif[0x0112] = 6
exif[0x010F] = "Xiaomi"
exif[0x0110] = "Redmi Note 12"
exif[0x8825] = {1: "N", 2: (30.0, 51.0, 7.2), 3: "E", 4: (119.0, 57.0, 1.5)}
out = io.BytesIO()
img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
sys.stdout.buffer.write(out.getvalue())
"#;
    let out = Command::new(python).args(["-c", script]).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "Pillow (python3-pil, installed by scripts/deps.sh test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn public_task(app: &TestApp) -> String {
    app.create(&task_at(point(119.95, 30.85), json!({"visibility": "public", "status": "in_progress", "progress": 50})))
        .await
        .0
}

#[tokio::test]
async fn the_bureau_gets_the_original_and_the_public_a_copy_without_metadata() {
    let app = spawn_app().await;
    originals_to_staff_and_copies_to_the_public(&app).await;
    assert_eq!(app.stored_files(), 2, "the original and its public copy, in the data folder");
}

/// With GREENLEDGER_PHOTO_STORE=database (several instances), the same, with the photos in the
/// database and nothing in any instance's folder.
#[tokio::test]
async fn kept_in_the_database_the_photos_answer_the_same_and_no_folder_holds_them() {
    let app = spawn_app_serving(|s| s.photo_store = greenledger::store::photos::PhotoStoreKind::Database).await;
    originals_to_staff_and_copies_to_the_public(&app).await;
    assert_eq!(app.stored_files(), 0, "nothing in the data folder");
    let (originals, copies): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(public_copy) FROM photo_files").fetch_one(&app.db).await.unwrap();
    assert_eq!((originals, copies), (1, 1));

    // A report refused after its photos were read leaves none behind: they go with its transaction.
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let res = officer.report(&id, "\"v999\"", &new_key(), &[("progress", "60")], &[("x.jpg", jpeg(7, 5_000))]).await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM photo_files").fetch_one(&app.db).await.unwrap();
    assert_eq!(n, 1, "the refused report's photo was not kept");
}

async fn originals_to_staff_and_copies_to_the_public(app: &TestApp) {
    let id = public_task(app).await;
    let original = camera_photo();
    assert!(contains(&original, b"Redmi Note 12") && contains(&original, b"Exif\0\0"));
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let etag = officer.etag(&id).await;
    let res = officer
        .report(
            &id,
            &etag,
            &new_key(),
            &[("action", "complete"), ("note", "完工")],
            &[("IMG_0001.jpg", original.clone())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let url = res.json::<Value>().await.unwrap()["photos"][0]["url"].as_str().unwrap().to_owned();

    // Before verification the public does not see it at all.
    assert_eq!(app.anonymous().get(&url).await.status(), StatusCode::NOT_FOUND);
    let kept = app.get(&url).await.bytes().await.unwrap();
    assert_eq!(&kept[..], &original[..], "the bureau gets the photo as taken, EXIF and all");

    assert_eq!(app.transition(&id, "verify", None).await.status(), StatusCode::OK);
    for caller in [app.anonymous(), app.login(&format!("township-{WEST}")).await] {
        let res = caller.get(&url).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let public = res.bytes().await.unwrap();
        assert!(!contains(&public, b"Exif\0\0"), "no EXIF segment");
        assert!(!contains(&public, b"Redmi") && !contains(&public, b"Xiaomi"), "no camera");
        let img = image::load_from_memory(&public).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 1600), "turned upright as the phone was held");
    }
    // The township's own officer still gets the original.
    assert_eq!(&officer.get(&url).await.bytes().await.unwrap()[..], &original[..]);
}

#[tokio::test]
async fn a_photo_that_does_not_decode_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let id = public_task(&app).await;
    let officer = app.login(&format!("township-{MIDDLE}")).await;
    let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0];
    fake.extend((0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let mut huge = jpeg(3, 0);
    let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    huge[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    for (name, bytes, says) in [("garbage.jpg", fake, "cannot be read"), ("bomb.jpg", huge, "pixels a side")] {
        let etag = officer.etag(&id).await;
        let good = jpeg(4, 500);
        let res =
            officer.report(&id, &etag, &new_key(), &[("progress", "60")], &[("ok.jpg", good), (name, bytes)]).await;
        let p = problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(pointers(&p), ["photo"]);
        let detail = p["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(name) && detail.contains(says), "{detail}");
    }
    let reports = app.get(&format!("/api/tasks/{id}/reports")).await.json::<Vec<Value>>().await.unwrap();
    assert!(reports.is_empty(), "no report stored: {reports:?}");
    assert_eq!(app.stored_files(), 0, "no photo file kept, not even the good one");
}
