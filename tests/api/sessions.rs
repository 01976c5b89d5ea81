//! Sessions for apps: `login` hands out a refresh token, `refresh` rotates it, reuse of a retired one ends the
//! whole session, `logout` ends it, and an expired access token is told apart from a bad one.

use hoi_ccb::auth::{Role, ScopeNode, accounts};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp};

const LOGIN: &str = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) \
                     { token expiresAt refreshToken refreshTokenExpiresAt role } }";
const REFRESH: &str =
    "mutation($r: String!) { refresh(refreshToken: $r) { token expiresAt refreshToken refreshTokenExpiresAt } }";
const LOGOUT: &str = "mutation($r: String!) { logout(refreshToken: $r) }";
const ME: &str = "{ me { authenticated role } }";

/// An admin account `phone-user` and its first session: (account id, access token, refresh token).
async fn logged_in(app: &TestApp) -> (i64, String, String) {
    let account = accounts::create(
        app.db(),
        "phone-user",
        "phone-password",
        Role::Admin,
        ScopeNode::Everything,
        "Phone user",
    )
    .await
    .expect("account");
    let (token, refresh) = login(app, "phone-password").await;
    (account.id, token, refresh)
}

async fn login(app: &TestApp, password: &str) -> (String, String) {
    let data = app.data(None, LOGIN, json!({ "u": "phone-user", "p": password })).await;
    (
        data["login"]["token"].as_str().expect("token").to_owned(),
        data["login"]["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    )
}

async fn refresh(app: &TestApp, refresh_token: &str) -> (u16, Value) {
    app.post(None, REFRESH, json!({ "r": refresh_token })).await
}

async fn works(app: &TestApp, token: &str) -> bool {
    let (status, body) = app.post(Some(token), ME, json!({})).await;
    status == 200 && body["data"]["me"]["authenticated"] == json!(true)
}

#[tokio::test]
async fn refresh_issues_a_new_pair_and_retires_the_refresh_token_it_was_given() {
    let app = TestApp::spawn().await;
    let (_, token, first) = logged_in(&app).await;
    assert!(works(&app, &token).await);
    let (status, body) = refresh(&app, &first).await;
    assert_eq!(status, 200, "{body}");
    let renewed = &body["data"]["refresh"];
    let second = renewed["refreshToken"].as_str().expect("new refresh token");
    assert_ne!(second, first);
    assert!(works(&app, renewed["token"].as_str().expect("new token")).await);
    assert!(renewed["refreshTokenExpiresAt"].is_string());
    // The new refresh token works in its turn.
    let (status, body) = refresh(&app, second).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["refresh"]["refreshToken"].is_string(), "{body}");
}

#[tokio::test]
async fn reusing_a_retired_refresh_token_ends_the_whole_session() {
    let app = TestApp::spawn().await;
    let (_, _, first) = logged_in(&app).await;
    let (_, body) = refresh(&app, &first).await;
    let newest_access = body["data"]["refresh"]["token"].as_str().expect("token").to_owned();
    let newest_refresh = body["data"]["refresh"]["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert!(works(&app, &newest_access).await);

    // Someone replays the first, retired refresh token: refused, and the legitimate holder's pair dies too.
    let (_, body) = refresh(&app, &first).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let (_, body) = refresh(&app, &newest_refresh).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    let (status, body) = app.post(Some(&newest_access), ME, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["errors"][0]["extensions"].get("reason").is_none(), "{body}");
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let (_, token, refresh_token) = logged_in(&app).await;
    // A second session of the same account (another phone) is not affected.
    let (other_token, other_refresh) = login(&app, "phone-password").await;
    let data = app.data(None, LOGOUT, json!({ "r": refresh_token })).await;
    assert_eq!(data["logout"], true);
    assert_eq!(app.post(Some(&token), ME, json!({})).await.0, 401);
    let (_, body) = refresh(&app, &refresh_token).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    assert!(works(&app, &other_token).await);
    assert_eq!(refresh(&app, &other_refresh).await.0, 200);
    // Logging out twice, or with a token nobody issued, is harmless.
    let again = app.data(None, LOGOUT, json!({ "r": refresh_token })).await;
    assert_eq!(again["logout"], false);
    let unknown = app.data(None, LOGOUT, json!({ "r": "no-such-token" })).await;
    assert_eq!(unknown["logout"], false);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_unauthenticated() {
    let app = TestApp::spawn().await;
    for bad in ["", "not-a-refresh-token", &"x".repeat(4000)] {
        let (_, body) = refresh(&app, bad).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    }
}

#[tokio::test]
async fn changing_the_password_ends_every_session() {
    let app = TestApp::spawn().await;
    let (_, token, refresh_token) = logged_in(&app).await;
    let (other_token, _) = login(&app, "phone-password").await;
    let data = app
        .data(
            Some(&token),
            "mutation($i: ChangePasswordInput!) { changePassword(input: $i) }",
            json!({ "i": { "currentPassword": "phone-password", "newPassword": "a-new-password" } }),
        )
        .await;
    assert_eq!(data["changePassword"], true);
    assert_eq!(app.post(Some(&token), ME, json!({})).await.0, 401);
    assert_eq!(app.post(Some(&other_token), ME, json!({})).await.0, 401);
    let (_, body) = refresh(&app, &refresh_token).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    let (fresh, _) = login(&app, "a-new-password").await;
    assert!(works(&app, &fresh).await);
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_for_good() {
    let app = TestApp::spawn().await;
    let (account, token, refresh_token) = logged_in(&app).await;
    accounts::set_disabled(app.db(), account, true).await.expect("disable");
    assert_eq!(app.post(Some(&token), ME, json!({})).await.0, 401);
    // Re-enabling the account does not bring the old session back.
    accounts::set_disabled(app.db(), account, false).await.expect("enable");
    assert_eq!(app.post(Some(&token), ME, json!({})).await.0, 401);
    let (_, body) = refresh(&app, &refresh_token).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
}

fn signed(claims: &Value, key: &[u8]) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(key)).expect("encode")
}

#[tokio::test]
async fn an_expired_token_says_so_and_a_forged_one_does_not() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| {
        json!({ "sub": "idp|someone", "role": "ADMIN", "iss": "hoi-ccb", "aud": "hoi-ccb-api",
                "iat": now - 3600, "exp": exp })
    };
    let expired = signed(&claims(now - 120), SECRET.as_bytes());
    let resp = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(&expired)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 401);
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(challenge.as_deref(), Some(r#"Bearer error="invalid_token""#));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "TOKEN_EXPIRED");
    assert!(body["data"].is_null());

    // Expired and signed with another key: a forgery, not an expiry.
    let forged = signed(&claims(now - 120), b"another-secret-that-is-also-long-enough!!");
    let (status, body) = app.post(Some(&forged), ME, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert!(body["errors"][0]["extensions"].get("reason").is_none(), "{body}");
    let (status, body) = app.post(Some("garbage"), ME, json!({})).await;
    assert_eq!(status, 401);
    assert!(body["errors"][0]["extensions"].get("reason").is_none(), "{body}");
}

#[tokio::test]
async fn tokens_of_an_outside_identity_provider_have_no_session_and_keep_working() {
    let app = TestApp::spawn().await;
    let (_, _, refresh_token) = logged_in(&app).await;
    app.data(None, LOGOUT, json!({ "r": refresh_token })).await;
    let idp = app.admin();
    assert!(works(&app, &idp).await);
}

#[tokio::test]
async fn a_burst_with_one_session_reads_it_once_and_a_logout_here_still_ends_it_at_once() {
    let app = TestApp::spawn_configured(|c| {
        c.realtime.session_check_cache = std::time::Duration::from_secs(60);
    })
    .await;
    let (_, token, refresh_token) = logged_in(&app).await;
    let (first, _) = app.count_statements(Some(&token), ME, json!({})).await;
    let (again, data) = app.count_statements(Some(&token), ME, json!({})).await;
    assert_eq!(data["me"]["authenticated"], true);
    assert_eq!(again + 1, first, "the second request skips the session read");
    // Within the cache window, a logout through this instance still ends the session for the next request.
    let (status, body) = app.post(None, LOGOUT, json!({ "r": refresh_token })).await;
    assert_eq!(status, 200, "{body}");
    assert!(!works(&app, &token).await, "logged out at once");
}

#[tokio::test]
async fn a_session_ended_elsewhere_stops_working_when_the_cache_lapses() {
    let app = TestApp::spawn_configured(|c| {
        c.realtime.session_check_cache = std::time::Duration::from_secs(1);
    })
    .await;
    let (account, token, _) = logged_in(&app).await;
    assert!(works(&app, &token).await);
    // As another instance would: straight in the shared database, not through this process.
    let mut sql =
        hoi_ccb::sql::Sql::new("UPDATE sessions SET revoked_at = 1, revoked_reason = 'LOGOUT' WHERE account_id = ");
    sql.bind(account);
    sea_orm::ConnectionTrait::execute_raw(
        app.db(),
        sql.build(sea_orm::ConnectionTrait::get_database_backend(app.db())),
    )
    .await
    .expect("revoke");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(!works(&app, &token).await, "refused once the confirmation lapsed");
}

#[tokio::test]
async fn with_the_cache_off_every_request_reads_the_session() {
    let app = TestApp::spawn_configured(|c| {
        c.realtime.session_check_cache = std::time::Duration::ZERO;
    })
    .await;
    let (_, token, _) = logged_in(&app).await;
    let (first, _) = app.count_statements(Some(&token), ME, json!({})).await;
    let (again, _) = app.count_statements(Some(&token), ME, json!({})).await;
    assert_eq!(first, again);
}
