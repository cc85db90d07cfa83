//! Photos and backgrounds: uploads kept in every size, linked at capability URLs only in
//! projections, replaced and removed without leaving the old copies readable, refused uploads
//! changing nothing, and who may change them.

use super::{Fixture, BASE_URL};
use crate::access::{Scope, Select};
use crate::error::CoreError;
use crate::field::UserField;
use crate::ids::UserId;
use crate::model::image::{BuiltinBackground, ImageFormat, ImageSize};
use crate::model::user::UserPatch;
use crate::ports::Database;
use crate::testing::TestImages;
use crate::usecase::images::{self, BackgroundChange, BackgroundView, PhotoChange};
use crate::usecase::invitations::{self, Invite};
use crate::usecase::{messenger, users};
use crate::Value;

/// The `PERSONAL_PHOTO` an administrator reads for `user`.
fn photo(f: &Fixture<'_>, user: UserId) -> String {
    let view = users::get_user(f.ctx(), &f.admin, user, &Select::All, true).unwrap();
    match view.get(UserField::PersonalPhoto) {
        Some(Value::Text(t)) => t.clone(),
        _ => String::new(),
    }
}

/// What `/photo/{id}/{file}` serves for a photo URL, with `file` in place of its last part.
fn served(f: &Fixture<'_>, url: &str, file: &str) -> Option<(ImageFormat, Vec<u8>)> {
    let rest = url.strip_prefix(&format!("{BASE_URL}/photo/"))?;
    let (id, _) = rest.split_once('/')?;
    images::served_copy(f.ctx(), id, file).unwrap()
}

fn invalid_on(r: Result<impl std::fmt::Debug, CoreError>, name: &str) {
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == name), "{r:?}");
}

pub fn uc_photos(db: &dyn Database) {
    let f = Fixture::new(db);
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let as_ann = f.actor(ann, &[Scope::User, Scope::Im]);
    let as_bob = f.actor(bob, &[Scope::User]);
    let before = db.read().unwrap().user(f.account, ann).unwrap().unwrap().updated_at;
    assert_eq!(photo(&f, ann), "");

    // A user sets their own photo: the projection links the 1000 px copy, every size is served.
    f.clock.advance(chrono::Duration::seconds(5));
    images::set_photo(f.ctx(), &as_ann, ann, &PhotoChange::Upload(TestImages::file("ann-1"))).unwrap();
    let first = photo(&f, ann);
    assert!(first.starts_with(&format!("{BASE_URL}/photo/")) && first.ends_with("/large.png"), "{first}");
    assert_eq!(served(&f, &first, "large.png"), Some((ImageFormat::Png, b"large ann-1".to_vec())));
    assert_eq!(served(&f, &first, "small.png"), Some((ImageFormat::Png, b"small ann-1".to_vec())));
    assert_eq!(served(&f, &first, "medium.png").map(|c| c.1), Some(b"medium ann-1".to_vec()));
    for wrong in ["large.jpg", "cover.png", "large", "huge.png", "../large.png"] {
        assert_eq!(served(&f, &first, wrong), None, "{wrong}");
    }
    assert_eq!(images::served_copy(f.ctx(), "not-an-id", "large.png").unwrap(), None);
    let after = db.read().unwrap().user(f.account, ann).unwrap().unwrap().updated_at;
    assert!(after > before, "a new photo is a change of the user");

    // IMAGE_RESIZE: the query names the copy its URLs link to.
    let q = f.query(crate::query::UserFilter::default());
    let small = users::ReadOptions { photos: Some(ImageSize::Small), ..users::ReadOptions::default() };
    let page = users::find_users_with(f.ctx(), &f.admin, &q, &Select::All, &small).unwrap();
    let linked =
        page.items.iter().find(|u| u.id == ann).and_then(|u| u.get(UserField::PersonalPhoto)).cloned();
    assert_eq!(linked, Some(Value::text(first.replace("/large.png", "/small.png"))));
    let brief = users::find_users(f.ctx(), &as_bob, &q, &Select::All, false).unwrap();
    assert!(brief.items.iter().any(|u| u.get(UserField::PersonalPhoto) == Some(&Value::text(&first))));

    // The messenger's avatars and the own profile link the same image.
    let card = users::presence_card(f.ctx(), &as_ann, None).unwrap();
    assert_eq!(card.avatar, first.replace("/large.png", "/small.png"));
    assert_eq!(card.avatar_hr, first);
    assert_eq!(users::own_profile(f.ctx(), &as_ann).unwrap().unwrap().photo, first);
    assert_eq!(messenger::cards(f.ctx(), &as_ann, &[ann]).unwrap()[0].avatar_hr, first);

    // Refused uploads leave the photo as it was.
    for bad in [b"GIF89a nope".to_vec(), TestImages::file("damaged"), TestImages::file(&"x".repeat(1_000))] {
        invalid_on(images::set_photo(f.ctx(), &as_ann, ann, &PhotoChange::Upload(bad)), "PERSONAL_PHOTO");
    }
    assert_eq!(photo(&f, ann), first);

    // Only the user and administrators change it.
    let r = images::set_photo(f.ctx(), &as_bob, ann, &PhotoChange::Upload(TestImages::file("bob")));
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    assert_eq!(photo(&f, ann), first);

    // A new upload gets a new URL; the old one stops working.
    images::set_photo(f.ctx(), &f.admin, ann, &PhotoChange::Upload(TestImages::file("ann-2"))).unwrap();
    let second = photo(&f, ann);
    assert_ne!(second, first);
    assert_eq!(served(&f, &first, "large.png"), None);
    assert_eq!(served(&f, &second, "large.png").map(|c| c.1), Some(b"large ann-2".to_vec()));

    // A stored image cannot be linked by writing its reference as text.
    let reference = second.trim_start_matches(&format!("{BASE_URL}/photo/")).replace("/large", "");
    invalid_on(UserPatch::from_text([(UserField::PersonalPhoto, reference.as_str())]), "PERSONAL_PHOTO");

    // Removing it, by the photo call or by an empty field, deletes the copies.
    images::set_photo(f.ctx(), &as_ann, ann, &PhotoChange::Remove).unwrap();
    assert_eq!(photo(&f, ann), "");
    assert_eq!(served(&f, &second, "large.png"), None);
    images::set_photo(f.ctx(), &as_ann, ann, &PhotoChange::Remove).unwrap();
    images::set_photo(f.ctx(), &as_ann, ann, &PhotoChange::Upload(TestImages::file("ann-3"))).unwrap();
    let third = photo(&f, ann);
    let empty = UserPatch::from_text([(UserField::PersonalPhoto, "")]).unwrap();
    users::update_user(f.ctx(), &as_ann, ann, &empty).unwrap();
    assert_eq!(photo(&f, ann), "");
    assert_eq!(served(&f, &third, "large.png"), None);

    // Fields and a photo in one update; an invitation with a photo.
    let name = UserPatch::from_text([(UserField::Name, "Annie")]).unwrap();
    let prepared =
        images::prepare_photo_for(f.ctx(), &as_ann, ann, &PhotoChange::Upload(TestImages::file("ann-4")));
    users::update_user_with_photo(f.ctx(), &as_ann, ann, &name, Some(prepared.unwrap())).unwrap();
    let view = users::get_user(f.ctx(), &f.admin, ann, &Select::All, true).unwrap();
    assert_eq!(view.get(UserField::Name), Some(&Value::text("Annie")));
    assert_eq!(served(&f, &photo(&f, ann), "small.png").map(|c| c.1), Some(b"small ann-4".to_vec()));
    let upload = images::prepare(
        f.ctx(),
        "PERSONAL_PHOTO",
        &TestImages::file("cy"),
        crate::model::image::ImagePurpose::Photo,
    );
    let invite = Invite {
        address: "cy@example.com".into(),
        fields: UserPatch::parse([(UserField::UfDepartment, Value::IntList(vec![1]))]).unwrap(),
        workgroups: vec![],
        extranet: false,
        text: None,
    };
    let cy =
        invitations::invite_by_email_with(f.ctx(), &f.admin, invite, Some(upload.unwrap()), None).unwrap();
    assert_eq!(served(&f, &photo(&f, cy.user.id), "medium.png").map(|c| c.1), Some(b"medium cy".to_vec()));
}

pub fn uc_backgrounds(db: &dyn Database) {
    let f = Fixture::new(db);
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let as_ann = f.actor(ann, &[Scope::User]);
    let as_bob = f.actor(bob, &[Scope::User]);
    let get = |actor| images::background(f.ctx(), actor, ann, false);
    assert_eq!(get(&as_bob).unwrap(), None);

    let sea = BuiltinBackground::named("sea").unwrap();
    let set =
        images::set_background(f.ctx(), &as_ann, ann, &BackgroundChange::Builtin("sea".into())).unwrap();
    assert_eq!(set, Some(BackgroundView::Builtin(sea)));
    assert_eq!(get(&as_bob).unwrap(), Some(BackgroundView::Builtin(sea)));
    invalid_on(
        images::set_background(f.ctx(), &as_ann, ann, &BackgroundChange::Builtin("mars".into())),
        "BACKGROUND",
    );
    invalid_on(
        images::set_background(f.ctx(), &as_ann, ann, &BackgroundChange::Upload(b"nope".to_vec())),
        "BACKGROUND",
    );
    let r = images::set_background(f.ctx(), &as_bob, ann, &BackgroundChange::Remove);
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    assert_eq!(get(&as_ann).unwrap(), Some(BackgroundView::Builtin(sea)), "refusals change nothing");

    // An uploaded one is served at its cover size; replacing it deletes it.
    let up = BackgroundChange::Upload(TestImages::file("beach"));
    let Some(BackgroundView::Image { url }) = images::set_background(f.ctx(), &as_ann, ann, &up).unwrap()
    else {
        panic!("an uploaded background is an image");
    };
    assert!(url.ends_with("/cover.png"), "{url}");
    assert_eq!(served(&f, &url, "cover.png").map(|c| c.1), Some(b"cover beach".to_vec()));
    assert_eq!(served(&f, &url, "large.png"), None);
    assert_eq!(get(&as_bob).unwrap(), Some(BackgroundView::Image { url: url.clone() }));
    images::set_background(f.ctx(), &f.admin, ann, &BackgroundChange::Builtin("night".into())).unwrap();
    assert_eq!(served(&f, &url, "cover.png"), None);
    images::set_background(f.ctx(), &as_ann, ann, &BackgroundChange::Remove).unwrap();
    assert_eq!(get(&as_bob).unwrap(), None);

    // Who may not see the user may not see their background.
    let group = crate::usecase::workgroups::create_workgroup(f.ctx(), &f.admin, "Outside").unwrap().id;
    let guest = f.extranet("Gus", &[group]);
    let as_guest = f.actor(guest, &[Scope::User]);
    let r = images::background(f.ctx(), &as_guest, ann, false);
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");
    let r = images::background(f.ctx(), &f.admin, UserId(9_999), false);
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");
}
