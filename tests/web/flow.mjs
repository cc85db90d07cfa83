// Cardfile's pages in a real browser (Debian's chromium, driven by playwright-core): an invited
// person joins, signs out and in, meets the lockout, and the security rules hold (CSRF, cookie
// flags, no session fixation, no open redirect, signed-out pages). Every page is screenshotted
// at desktop and phone widths and checked with axe-core. Exits non-zero on the first failure.
//
// Environment: CARDFILE_URL (http://127.0.0.1:PORT), CARDFILE_INVITE (a token), and
// CARDFILE_INVITE_OTHER (to a second account) and CARDFILE_INVITE_EXPIRED (past its time),
// CARDFILE_CHROMIUM (the browser), CARDFILE_SCREENSHOTS (a directory), CARDFILE_BIN and
// CARDFILE_DB (the CLI and its database, to read codes from the outbox as an administrator would).
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";

const base = process.env.CARDFILE_URL;
const token = process.env.CARDFILE_INVITE;
const shots = process.env.CARDFILE_SCREENSHOTS;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(shots, { recursive: true });

function check(ok, what) {
  if (!ok) {
    throw new Error(`failed: ${what}`);
  }
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CARDFILE_CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
// bypassCSP only so that axe-core can be injected; the pages' own CSP is checked below.
const context = await browser.newContext({ bypassCSP: true });
let page = await context.newPage();

/** Screenshots at both widths and an axe-core run with no serious or critical violation. */
async function inspect(name) {
  for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
    await page.setViewportSize({ width, height });
    const file = `${shots}/${name}-${label}.png`;
    await page.screenshot({ path: file, fullPage: true });
    check(statSync(file).size > 2000, `screenshot ${name}-${label} is not blank`);
  }
  await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async () => (await window.axe.run()).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help}`));
  check(found.length === 0, `axe-core on ${name}: ${found.join("; ") || "no serious or critical violation"}`);
}

async function sessionCookie() {
  return (await context.cookies()).find((c) => c.name === "__Host-cardfile");
}

// Signed out, the home page sends to /login.
let r = await page.goto(`${base}/`);
check(new URL(page.url()).pathname === "/login", "signed out, / goes to /login");
const csp = r.headers()["content-security-policy"] ?? "";
check(csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'") && !csp.includes("unsafe-inline"),
  "the pages' CSP allows no inline script and no framing");
await inspect("login");

// A planted session cookie is never accepted or kept (no fixation).
const planted = "a".repeat(32);
await page.evaluate((v) => { document.cookie = `__Host-cardfile=${v}; Path=/; Secure; SameSite=Lax`; }, planted);
check((await sessionCookie())?.value === planted, "a session cookie is planted before signing in");

// The invitation: a new profile, then signed in.
await page.goto(`${base}/invite/${token}`);
await inspect("invite");
await page.getByLabel("First name").fill("Nia");
await page.getByLabel("Last name").fill("Newton");
await page.getByLabel("First name").fill("N".repeat(300));
await page.getByLabel("Password (at least 10 characters)").fill("a long and good password");
await page.getByRole("button", { name: "Join" }).click();
check(await page.locator("#f-name-error[role=alert]").isVisible(), "a name that is too long is refused before the invitation is used");
await page.getByLabel("First name").fill("Nia");
await page.getByLabel("Last name").fill("Newton");
await page.getByLabel("Password (at least 10 characters)").fill("short");
await page.getByRole("button", { name: "Join" }).click();
check(await page.locator("#f-password-error[role=alert]").isVisible(), "a short password is refused at its field");
check(await page.locator("#f-password").getAttribute("aria-describedby") === "f-password-error", "the error is tied to its field");
await page.getByLabel("Password (at least 10 characters)").fill("a long and good password");
await page.getByRole("button", { name: "Join" }).click();
await page.getByText("Signed in as Nia Newton.").waitFor();
check(true, "accepting the invitation signs in");
await inspect("home");
let cookie = await sessionCookie();
check(cookie && cookie.value !== planted, "a new session, not the planted one");
check(cookie.httpOnly && cookie.secure && cookie.sameSite === "Lax" && cookie.path === "/", "the session cookie's flags");

// The invitation is used now.
r = await page.goto(`${base}/invite/${token}`);
check(r.status() === 410, "a used invitation gets a clear page");
r = await page.goto(`${base}/invite/${process.env.CARDFILE_INVITE_EXPIRED}`);
check(r.status() === 410 && await page.getByRole("heading", { name: "This invitation can no longer be used" }).isVisible(),
  "an expired invitation gets a clear page");
await inspect("invite-expired");
await page.goto(`${base}/`);

// Sign out, then in again.
await page.getByRole("button", { name: "Sign out" }).click();
check(new URL(page.url()).pathname === "/login", "signed out");
r = await page.goto(`${base}/`);
check(new URL(page.url()).pathname === "/login", "the old session no longer works");

// An open redirect through ?next= goes home instead.
await page.goto(`${base}/login?next=https://evil.example/`);
await page.getByLabel("E-mail or phone").fill("nia-unknown@example.com");
await page.getByLabel("Password").fill("whatever it is");
await page.getByRole("button", { name: "Sign in" }).click();
const unknown = await page.getByRole("alert").innerText();
check(unknown.includes("The login or the password is wrong."), "an unknown login looks like a wrong password");
await page.getByLabel("E-mail or phone").fill("new.hire@example.com");
await page.getByLabel("Password").fill("a long and good password");
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText("Signed in as Nia Newton.").waitFor();
check(new URL(page.url()).origin === new URL(base).origin && new URL(page.url()).pathname === "/company/",
  "?next= to another origin goes home (the only account's page)");

// CSRF: a POST without the form's token is refused.
r = await page.request.post(`${base}/logout`, { form: { csrf: "x".repeat(32) } });
check(r.status() === 403, "a POST without the right CSRF token is refused");
await page.goto(`${base}/`);
check(await page.getByText("Signed in as Nia Newton.").isVisible(), "and changed nothing");

// Signed in elsewhere with wrong passwords until the lockout shows its wait.
const other = await browser.newContext();
const p2 = await other.newPage();
let waited = "";
for (let i = 0; i < 12 && !waited; i++) {
  await p2.goto(`${base}/login`);
  await p2.getByLabel("E-mail or phone").fill("new.hire@example.com");
  await p2.getByLabel("Password").fill(`wrong password ${i}`);
  await p2.getByRole("button", { name: "Sign in" }).click();
  const text = await p2.getByRole("alert").innerText();
  if (/Try again in \d+ s/.test(text)) {
    waited = text;
  }
}
check(waited !== "", `the lockout's wait is shown: ${waited}`);
await other.close();

/** The code of the newest reset message to `to`, from `cardfile outbox`. */
function resetCode(to) {
  const out = execFileSync(process.env.CARDFILE_BIN, ["--db", process.env.CARDFILE_DB, "--json", "outbox", "--all", "list"]);
  const mail = JSON.parse(out).filter((m) => m.to === to && m.kind === "reset_code").pop();
  return mail.body.split("\n").find((l) => l.startsWith("    ")).trim();
}

// Locked out, the person resets the password by code, which also lifts the lockout.
await page.getByRole("button", { name: "Sign out" }).click();
await page.getByRole("link", { name: "Forgot your password?" }).click();
check(new URL(page.url()).pathname === "/reset", "the login page links to the reset");
await inspect("reset");
await page.getByLabel("E-mail or phone").fill("new.hire@example.com");
await page.getByRole("button", { name: "Send the code" }).click();
await page.getByText("If new.hire@example.com belongs to a Cardfile profile, a code is on its way to it.").waitFor();
await inspect("reset-code");
/** Sends the reset form with `code`, waiting out (up to `tries` times) any delay the page shows. */
async function sendResetCode(code, tries) {
  for (let i = 0; i < tries; i++) {
    await page.getByLabel("Code").fill(code);
    await page.getByLabel("New password (at least 10 characters)").fill("the newest of passwords");
    await page.getByRole("button", { name: "Change the password" }).click();
    const wait = (await page.locator("div.alert").allInnerTexts()).join(" ").match(/Try again in (\d+) s/);
    if (!wait) {
      return;
    }
    await page.waitForTimeout((Number(wait[1]) + 1) * 1000);
  }
}
// The login is still delayed from the guesses above: a wrong code waits its turn, then is
// refused at its field.
await sendResetCode("000000", 4);
check(await page.locator("#f-code-error[role=alert]").isVisible(), "a wrong code is refused at its field");
// The wrong code delayed the login again: the page says how long to wait.
await sendResetCode(resetCode("new.hire@example.com"), 6);
await page.getByText("Your password was changed. Sign in with the new one.").waitFor();
await page.getByLabel("E-mail or phone").fill("new.hire@example.com");
await page.getByLabel("Password").fill("the newest of passwords");
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText("Signed in as Nia Newton.").waitFor();
check(true, "the reset password signs in, the lockout lifted");

/** The TOTP code of a base32 key at `step` (RFC 6238: SHA-1, 6 digits, 30 s). */
function totp(key, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of key.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", bytes).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, "0");
}

async function signIn(p, password, code) {
  await p.goto(`${base}/login`);
  await p.getByLabel("E-mail or phone").fill("new.hire@example.com");
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Sign in" }).click();
  if (code) {
    // The second step asks for the code only: the first step's ticket stands for the password.
    await p.getByText("Two-step sign-in is on for new.hire@example.com: enter the code to finish signing in.").waitFor();
    check(await p.getByLabel("Password").count() === 0, "the second step does not ask for the password again");
    await p.getByLabel("Code from your authenticator app, or a recovery code").fill(code);
    await p.getByRole("button", { name: "Sign in" }).click();
  }
}

// /security/: signed out it asks to sign in first.
const outside = await browser.newContext();
const po = await outside.newPage();
await po.goto(`${base}/security/`);
check(new URL(po.url()).pathname === "/login" && new URL(po.url()).searchParams.get("next") === "/security/",
  "signed out, /security/ asks to sign in and comes back");

await page.getByRole("navigation").getByRole("link", { name: "Security", exact: true }).click();
await inspect("security");

// An application password is shown once, and /login refuses it.
await page.getByLabel("Name of the new application password").fill("Mail app");
await page.getByRole("button", { name: "Create" }).click();
const app = (await page.locator("code.big").innerText()).trim();
check(app.length >= 22, "the application password is shown once");
await signIn(po, app);
check((await po.getByRole("alert").innerText()).includes("The login or the password is wrong."), "/login refuses an application password");

// Another browser signs in; this one ends that session.
await signIn(po, "the newest of passwords");
await po.getByText("Signed in as Nia Newton.").waitFor();
await page.goto(`${base}/security/`);
const ends = page.getByRole("button", { name: "Sign out there" });
check(await ends.count() === 1, "the other browser's session is listed");
await ends.click();
await po.goto(`${base}/`);
check(new URL(po.url()).pathname === "/login", "the ended session no longer signs in");

// Two-step sign-in: enrol with the key, keep the recovery codes, sign in with a code.
await page.getByRole("button", { name: "Turn on two-step sign-in" }).click();
await inspect("security-totp");
check(await page.getByRole("img", { name: "QR code of the key for your authenticator app" }).isVisible(), "the QR code is shown");
const key = (await page.locator("section code").first().innerText()).trim();
const step = Math.floor(Date.now() / 1000 / 30);
await page.getByLabel("Code from your authenticator app").fill(totp(key, step));
await page.getByRole("button", { name: "Confirm and turn on" }).click();
const codes = await page.locator("ul.codes li").count();
check(codes >= 8, `recovery codes are shown once (${codes})`);
await page.getByRole("button", { name: "Sign out" }).click();
await signIn(page, "the newest of passwords", "000000");
check(await page.locator("#f-code-error[role=alert]").isVisible(), "a wrong second factor is refused at its field");
await inspect("login-code");
// The same ticket takes the right code: the one of the next step (the one used to turn
// two-step sign-in on cannot be used again).
await page.getByLabel("Code from your authenticator app, or a recovery code").fill(totp(key, step + 1));
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText("Signed in as Nia Newton.").waitFor();
check(true, "signed in with the second step");

// A password change needs the current one; this browser stays signed in with a new session.
await page.goto(`${base}/security/`);
const before = (await sessionCookie()).value;
await page.getByLabel("Current password").first().fill("not my password");
await page.getByLabel("New password (at least 10 characters)").fill("yet another good password");
await page.getByRole("button", { name: "Change the password" }).click();
check(await page.locator("#f-current-error[role=alert]").isVisible(), "a wrong current password is refused at its field");
await page.getByLabel("Current password").first().fill("the newest of passwords");
await page.getByLabel("New password (at least 10 characters)").fill("yet another good password");
await page.getByRole("button", { name: "Change the password" }).click();
await page.getByText("Your password was changed. Every other session was signed out.").waitFor();
check((await sessionCookie()).value !== before, "a password change gives this browser a new session");
await outside.close();

// The quick-registration link of a moderated account: form, code, waiting; approved by the
// operator's CLI, the account opens.
function cli(...args) {
  return JSON.parse(execFileSync(process.env.CARDFILE_BIN, ["--db", process.env.CARDFILE_DB, "--json", ...args]));
}
const regContext = await browser.newContext({ bypassCSP: true });
const reg = await regContext.newPage();
const main = page;
page = reg;
await reg.goto(`${base}${process.env.CARDFILE_REGISTER}`);
check(await reg.getByText("Welcome to the team directory.").isVisible(), "the registration page shows the account's greeting");
await inspect("register");
await reg.getByLabel("E-mail").fill("reg@example.com");
await reg.getByLabel("First name").fill("Rea");
await reg.getByLabel("Last name").fill("Gister");
await reg.getByLabel("Password (at least 10 characters)").fill("a registrant's password");
await reg.getByRole("button", { name: "Register" }).click();
await reg.getByText("A code is on its way to reg@example.com.").waitFor();
await inspect("register-code");
const confirmation = cli("outbox", "--all", "list").filter((m) => m.to === "reg@example.com" && m.kind === "confirmation_code").pop();
await reg.getByLabel("Code").fill(confirmation.body.split("\n").find((l) => l.startsWith("    ")).trim());
await reg.getByRole("button", { name: "Confirm" }).click();
await reg.getByRole("heading", { name: "Waiting for approval" }).waitFor();
await inspect("register-waiting");
await reg.goto(`${base}/`);
check(await reg.getByText("You are not a member of any account yet.").isVisible(), "signed in, but no account before approval");
r = await reg.goto(`${base}/company/`);
check(r.status() === 404, "an account's page where the person is no active user answers 404");
const request = cli("--account", "default", "invite", "list").requests.find((r) => r.email === "reg@example.com");
execFileSync(process.env.CARDFILE_BIN, ["--db", process.env.CARDFILE_DB, "--account", "default", "invite", "approve", request.id]);
await reg.goto(`${base}/`);
check(await reg.getByRole("heading", { name: "My Company" }).isVisible() && new URL(reg.url()).pathname === "/company/",
  "approved by the CLI, the account opens");
// A replaced link gets a clear page.
cli("--account", "default", "invite", "link");
r = await reg.goto(`${base}${process.env.CARDFILE_REGISTER}`);
check(r.status() === 404 && await reg.getByRole("heading", { name: "This registration link can no longer be used" }).isVisible(),
  "a replaced registration link gets a clear page");
page = main;
await regContext.close();

// Invited to a second account, the signed-in person joins it with the same profile; from then
// on they choose between their accounts, and each account's pages are at its own address.
await page.goto(`${base}/invite/${process.env.CARDFILE_INVITE_OTHER}`);
await page.getByRole("button", { name: "Join Other Co with this profile" }).click();
await page.getByRole("heading", { name: "Your accounts" }).waitFor();
await inspect("accounts");
check(await page.getByRole("link", { name: "My Company" }).isVisible(), "the chooser lists the default account");
await page.getByRole("link", { name: "Other Co" }).click();
await page.getByRole("heading", { name: "Other Co" }).waitFor();
check(new URL(page.url()).pathname === "/a/other/company/", "another account's pages are under /a/{slug}/");
await page.getByRole("link", { name: "Switch to another account" }).click();
await page.getByRole("link", { name: "My Company" }).click();
check(new URL(page.url()).pathname === "/company/", "the default account's pages are at the root");
r = await page.goto(`${base}/a/nope/company/`);
check(r.status() === 404, "an unknown account answers 404");
await inspect("not-found");

await browser.close();
console.log("all browser checks passed");
