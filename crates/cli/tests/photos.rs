//! Photos and backgrounds against the real server and the real codec: uploads as Bitrix24
//! clients send them (`[name, base64]`, `fileData`, a multipart file part), the capability
//! URLs `user.get` hands out and what they serve, refusals that change nothing, the body limit
//! of the upload methods, and the CLI.

mod common;

use std::io::{Cursor, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use image::{DynamicImage, ImageBuffer, Rgb, Rgba};
use serde_json::{json, Value};

fn file(picture: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn photo(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 120])))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One raw HTTP/1.1 request: the status, the head and the body.
fn request(port: u16, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..at]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), raw[at + 4..].to_vec())
}

fn get(port: u16, path: &str) -> (u16, String, Vec<u8>) {
    request(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"), b"")
}

/// The path of an absolute URL the server handed out (it links under its own base URL).
fn path_of(url: &str, port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}");
    assert!(url.starts_with(&format!("{base}/photo/")), "{url}");
    url[base.len()..].to_string()
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).unwrap();
    (img.width(), img.height())
}

#[test]
fn photos_and_backgrounds_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let extra = ["--photo-max-bytes".to_string(), "3000000".to_string()];
    let (mut server, port, hook) = common::start_custom(db.as_os_str(), dir.path(), true, false, &extra, &[]);
    let hook = hook.unwrap();
    let post = |method: &str, body: Value| common::post(port, &format!("{hook}{method}"), &body).unwrap();
    let call = |method: &str, body: Value| {
        let (status, b) = post(method, body);
        assert_eq!(status, 200, "{method}: {b}");
        b["result"].clone()
    };
    let photo_of = |id: u64, resize: &str| {
        call("user.get", json!({ "ID": id, "IMAGE_RESIZE": resize }))[0]["PERSONAL_PHOTO"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(photo_of(1, ""), "");

    // [name, base64]: a 1200 × 800 JPEG becomes an 800 px square; the URL serves it for a year.
    let jpeg = file(&photo(1200, 800), image::ImageFormat::Jpeg);
    assert_eq!(
        call("user.update", json!({ "ID": 1, "PERSONAL_PHOTO": ["me.jpg", b64(&jpeg)] })),
        json!(true)
    );
    let large = photo_of(1, "");
    assert!(large.ends_with("/large.jpg"), "{large}");
    let (status, head, body) = get(port, &path_of(&large, port));
    assert_eq!(status, 200);
    assert!(head.contains("content-type: image/jpeg"), "{head}");
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{head}");
    assert_eq!(dimensions(&body), (800, 800));
    let small = photo_of(1, "small");
    assert!(small.ends_with("/small.jpg"), "{small}");
    assert_eq!(dimensions(&get(port, &path_of(&small, port)).2), (150, 150));
    assert_eq!(dimensions(&get(port, &path_of(&photo_of(1, "MEDIUM"), port)).2), (300, 300));
    let (status, refused) = post("user.get", json!({ "ID": 1, "IMAGE_RESIZE": "huge" }));
    assert_eq!((status, refused["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{refused}");
    // The other places a photo shows.
    assert_eq!(call("profile", json!({}))["PERSONAL_PHOTO"], json!(large));

    // Refused uploads leave the photo as it was.
    let truncated = &jpeg[..jpeg.len() / 2];
    let too_big: Vec<u8> = (0..3_000_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    for (what, value) in [
        ("a truncated JPEG", json!(["me.jpg", b64(truncated)])),
        ("an SVG", json!(["me.svg", b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")])),
        ("not base64", json!(["me.jpg", "%%%"])),
        ("a URL", json!("https://example.com/me.jpg")),
        ("a file over the limit", json!(["big.jpg", b64(&too_big)])),
    ] {
        let (status, b) = post("user.update", json!({ "ID": 1, "PERSONAL_PHOTO": value, "NAME": "Changed" }));
        assert_eq!((status, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{what}: {b}");
        assert!(b["error_description"].as_str().unwrap_or("").contains("PERSONAL_PHOTO"), "{what}: {b}");
    }
    assert_eq!(photo_of(1, ""), large);
    assert_ne!(call("user.get", json!({ "ID": 1 }))[0]["NAME"], "Changed", "a refused call changes nothing");
    // A body over the upload methods' limit (4/3 of the file limit and 64 KiB) is refused
    // before it is parsed; other methods keep their 2 MiB.
    let over = json!({ "ID": 1, "PERSONAL_PHOTO": ["x.jpg", "A".repeat(4_100_000)] });
    let (status, b) = post("user.update", over);
    assert_eq!((status, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{b}");
    let (status, b) = post("server.time", json!({ "pad": "A".repeat(2_200_000) }));
    assert_eq!((status, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{b}");
    // A file within the limit whose body is larger than other methods take (2 MiB) is taken.
    let grain = ImageBuffer::from_fn(1000, 900, |x, y| {
        let n = (x * 7919 + y * 104_729).wrapping_mul(2_654_435_761);
        Rgb([(n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8])
    });
    let noisy = file(&DynamicImage::ImageRgb8(grain), image::ImageFormat::Png);
    assert!(noisy.len() > 1_600_000 && noisy.len() < 3_000_000, "{}", noisy.len());
    assert_eq!(
        call("user.update", json!({ "ID": 1, "PERSONAL_PHOTO": ["grain.png", b64(&noisy)] })),
        json!(true)
    );
    let grainy = photo_of(1, "");
    assert_ne!(grainy, large);
    assert_eq!(dimensions(&get(port, &path_of(&grainy, port)).2), (900, 900));

    // A batch takes no files (they would be decoded holding the writers' lock).
    let small_png = file(&photo(32, 32), image::ImageFormat::Png);
    let cmd = format!(
        "user.update?ID=1&PERSONAL_PHOTO[0]=a.png&PERSONAL_PHOTO[1]={}",
        b64(&small_png).replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    );
    let b = call("batch", json!({ "cmd": { "p": cmd } }));
    assert!(b["result_error"]["p"]["error_description"].as_str().unwrap_or("").contains("no files"), "{b}");

    // A multipart file part: a PNG with transparency stays a PNG; the old URL is gone.
    let clear =
        DynamicImage::ImageRgba8(ImageBuffer::from_fn(400, 400, |x, _| Rgba([20, 90, 200, (x % 256) as u8])));
    let png = file(&clear, image::ImageFormat::Png);
    let mut form = Vec::new();
    form.extend_from_slice(b"--bOuNdArY\r\nContent-Disposition: form-data; name=\"ID\"\r\n\r\n1\r\n");
    form.extend_from_slice(
        b"--bOuNdArY\r\nContent-Disposition: form-data; name=\"PERSONAL_PHOTO\"; filename=\"me.png\"\r\n\
Content-Type: image/png\r\n\r\n",
    );
    form.extend_from_slice(&png);
    form.extend_from_slice(b"\r\n--bOuNdArY--\r\n");
    let head = format!(
        "POST {hook}user.update HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=bOuNdArY\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n",
        form.len()
    );
    let (status, _, body) = request(port, &head, &form);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let transparent = photo_of(1, "");
    assert!(transparent.ends_with("/large.png"), "{transparent}");
    assert_eq!(get(port, &path_of(&large, port)).0, 404, "a replaced photo's URL stops working");
    assert_eq!(get(port, &path_of(&grainy, port)).0, 404);
    let (status, head, body) = get(port, &path_of(&transparent, port));
    assert_eq!(status, 200);
    assert!(head.contains("content-type: image/png"), "{head}");
    assert_eq!(dimensions(&body), (400, 400));

    // fileData, on a new user; the messenger's avatars; removal.
    let gif = file(&photo(300, 300), image::ImageFormat::Gif);
    let sam = call(
        "user.add",
        json!({ "EMAIL": "sam@example.com", "UF_DEPARTMENT": [1], "PERSONAL_PHOTO": { "fileData": ["sam.gif", b64(&gif)] } }),
    )
    .as_u64()
    .unwrap();
    let sams = photo_of(sam, "");
    assert_eq!(dimensions(&get(port, &path_of(&sams, port)).2), (300, 300));
    assert_eq!(call("user.update", json!({ "ID": sam, "PERSONAL_PHOTO": { "remove": "Y" } })), json!(true));
    assert_eq!(photo_of(sam, ""), "");
    assert_eq!(get(port, &path_of(&sams, port)).0, 404);
    for bad in ["/photo/00000000000000000000000000000000/large.jpg", "/photo/zz/large.jpg", "/photo/x"] {
        assert_eq!(get(port, bad).0, 404, "{bad}");
    }

    // Backgrounds: a built-in one, an uploaded one at its cover size, none.
    let list = call("cardfile.background.list", json!({}));
    assert!(list.as_array().unwrap().iter().any(|b| b["NAME"] == "sea"), "{list}");
    let set = call("cardfile.user.background.set", json!({ "ID": 1, "BACKGROUND": "sea" }));
    assert_eq!((set["TYPE"].as_str(), set["NAME"].as_str()), (Some("builtin"), Some("sea")), "{set}");
    let (status, b) = post("cardfile.user.background.set", json!({ "ID": 1, "BACKGROUND": "mars" }));
    assert_eq!((status, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{b}");
    let wide = file(&photo(2400, 1000), image::ImageFormat::Jpeg);
    let set =
        call("cardfile.user.background.set", json!({ "ID": 1, "BACKGROUND": ["wide.jpg", b64(&wide)] }));
    let url = set["URL"].as_str().unwrap().to_string();
    assert_eq!(dimensions(&get(port, &path_of(&url, port)).2), (1920, 800));
    assert_eq!(call("cardfile.user.background.get", json!({ "ID": 1 })), set);
    call("cardfile.user.background.set", json!({ "ID": 1, "BACKGROUND": "" }));
    assert_eq!(call("cardfile.user.background.get", json!({ "ID": 1 })), json!({ "TYPE": "none" }));
    assert_eq!(get(port, &path_of(&url, port)).0, 404);

    // The CLI on the same database.
    let path = dir.path().join("me.webp");
    std::fs::write(&path, file(&photo(500, 500), image::ImageFormat::WebP)).unwrap();
    let cli = |args: &[&str]| {
        common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&db).args(args),
        )
    };
    let (code, _, err) = cli(&["user", "photo", &sam.to_string(), "--file", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let from_cli = photo_of(sam, "");
    assert_eq!(dimensions(&get(port, &path_of(&from_cli, port)).2), (500, 500));
    let (code, _, err) = cli(&["user", "background", &sam.to_string(), "--builtin", "night"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&["user", "show", &sam.to_string()]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["PERSONAL_PHOTO"], json!(from_cli), "{shown}");
    assert_eq!(shown["BACKGROUND"]["NAME"], "night", "{shown}");
    let (code, _, err) = cli(&["user", "photo", &sam.to_string(), "--file", db.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("PERSONAL_PHOTO"), "{err}");
    let (code, _, err) = cli(&["user", "photo", &sam.to_string(), "--remove"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(photo_of(sam, ""), "");

    // An export lists a photo as its URL, which an import takes as a link.
    let (code, csv, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args(["export", "--format", "csv"]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(csv.contains(&transparent), "{csv}");

    common::terminate(&server);
    server.wait().unwrap();
}

#[test]
fn photos_are_limited_per_address_apart_from_rest_calls() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let extra = ["--address-rate-limit".to_string(), "6/1".to_string()];
    let (mut server, port, hook) = common::start_custom(db.as_os_str(), dir.path(), true, false, &extra, &[]);
    let hook = hook.unwrap();
    let png = file(&photo(64, 64), image::ImageFormat::Png);
    let (status, b) = common::post(
        port,
        &format!("{hook}user.update"),
        &json!({ "ID": 1, "PERSONAL_PHOTO": ["me.png", b64(&png)] }),
    )
    .unwrap();
    assert_eq!(status, 200, "{b}");
    let (_, b) = common::post(port, &format!("{hook}user.get"), &json!({ "ID": 1 })).unwrap();
    let path = path_of(b["result"][0]["PERSONAL_PHOTO"].as_str().unwrap(), port);
    let statuses: Vec<u16> = (0..12).map(|_| get(port, &path).0).collect();
    assert_eq!(statuses[..6], [200; 6], "{statuses:?}");
    assert!(statuses[6..].contains(&429), "past the burst: {statuses:?}");
    // REST calls have a bucket of their own.
    let (status, b) = common::post(port, &format!("{hook}server.time"), &json!({})).unwrap();
    assert_eq!(status, 200, "{b}");
    common::terminate(&server);
    server.wait().unwrap();
}
