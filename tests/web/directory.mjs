// The directory's pages in a real browser: three people join through their invitations (Ann
// and Bob in Sales, Eve an extranet user in a workgroup with Ann); they find each other by
// search as they type, by the plain form, by an interest tag and through the structure; the
// card shows what the viewer may read; an appreciation's message reaches its recipient only;
// the extranet user sees only her workgroup and gets 404 for anyone else's card. Every page is
// screenshotted at desktop and phone widths and checked with axe-core.
//
// Environment: CARDFILE_URL, CARDFILE_INVITES ({ann, bob, eve}: tokens), CARDFILE_IDS ({ann,
// bob, eve, sales}), CARDFILE_CHROMIUM, CARDFILE_SCREENSHOTS.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";

const base = process.env.CARDFILE_URL;
const invites = JSON.parse(process.env.CARDFILE_INVITES);
const ids = JSON.parse(process.env.CARDFILE_IDS);
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

async function inspect(page, name) {
  for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
    await page.setViewportSize({ width, height });
    const file = `${shots}/${name}-${label}.png`;
    await page.screenshot({ path: file, fullPage: true });
    check(statSync(file).size > 2000, `screenshot ${name}-${label} is not blank`);
  }
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.addScriptTag({ content: axeSource });
    const found = await page.evaluate(async () => (await window.axe.run()).violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")})`));
    check(found.length === 0, `axe-core on ${name} (${scheme}): ${found.join("; ") || "no serious or critical violation"}`);
  }
  await page.emulateMedia({ colorScheme: "light" });
}

/** A person joins through their invitation, in a browser of their own, and lands on the directory. */
async function join(who, first, last) {
  // bypassCSP only so that axe-core can be injected; the pages' CSP stays checked by flow.mjs.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${base}/invite/${invites[who]}`);
  await page.getByLabel("First name").fill(first);
  await page.getByLabel("Last name").fill(last);
  await page.getByLabel("Password (at least 10 characters)").fill(`${who}'s long and good password`);
  await page.getByRole("button", { name: "Join" }).click();
  await page.getByRole("heading", { name: "People" }).waitFor();
  check(new URL(page.url()).pathname === "/company/", `${first} joins and lands on the directory`);
  return page;
}

const card = (id) => `${base}/company/personal/user/${id}/`;
let r;

// Ann: the directory, search as she types, the plain form.
const ann = await join("ann", "Ann", "Arbor");
await inspect(ann, "directory");
check(await ann.locator("#results").getByRole("link", { name: "Ann Arbor" }).isVisible(), "the directory lists everyone at first");
await ann.getByLabel("Search by name").pressSequentially("bro", { delay: 50 });
await ann.locator("#results").getByRole("link", { name: "Ann Arbor" }).waitFor({ state: "detached" });
check(await ann.locator("#results").getByRole("link", { name: "Bob Brook" }).isVisible(), "search as one types narrows the results, without a reload");
check(new URL(ann.url()).searchParams.get("q") === "bro", "the address follows the search");
await ann.goto(`${base}/company/?q=oslo`);
check(await ann.locator("#results").getByRole("link", { name: "Bob Brook" }).isVisible(), "a searchable custom field's value finds its holder, without script");
await ann.goto(`${base}/company/?q=nobody-at-all`);
check(await ann.getByText("Nobody matches").isVisible(), "an empty result says so");
await ann.goto(`${base}/company/`);
await ann.getByLabel("Department (with its sub-departments)").selectOption(String(ids.sales));
await ann.getByRole("button", { name: "Search", exact: true }).click();
await ann.locator("#results").getByRole("link", { name: "Bob Brook" }).waitFor();
check(await ann.locator("#results").getByRole("link", { name: "Eve Extern" }).count() === 0, "the department picker narrows to Sales");
await ann.goto(`${base}/company/?absent=1`);
check(await ann.locator("#results").getByRole("link", { name: "Bob Brook" }).isVisible()
  && await ann.locator("#results").getByRole("link", { name: "Ann Arbor" }).count() === 0, "absent today finds Bob only");

// Bob's card: what Ann may read; an interest leads to the directory filtered by it.
await ann.goto(card(ids.bob));
await ann.getByRole("heading", { name: "Bob Brook" }).waitFor();
check(await ann.getByText("Sales lead").isVisible(), "the card shows the position");
check(await ann.locator("dl.fields").getByText("Oslo").isVisible(), "and the custom field");
check(await ann.locator("img.photo").count() === 1, "and the photo, at its capability URL");
check(await ann.getByText(/Away until/).first().isVisible(), "and away until");
check(await ann.locator(".about b").innerText() === "Sales", "and about me, rendered");
await inspect(ann, "card");
await ann.getByLabel("Badge").selectOption("star");
await ann.getByLabel("Message").fill("Thanks for the demo");
await ann.getByRole("button", { name: "Give an appreciation" }).click();
await ann.getByText("Your appreciation was given.").waitFor();
check(await ann.getByText("Star × 1").isVisible(), "the badge is counted on the card");
check(await ann.getByText("Thanks for the demo").count() === 0, "the message is not shown to the giver on another's card");
await ann.getByRole("link", { name: "#climbing" }).click();
await ann.locator("#results").getByRole("link", { name: "Ann Arbor" }).waitFor();
check(await ann.locator("#results").getByRole("link", { name: "Bob Brook" }).isVisible(), "a tag finds everyone who holds it");

// The structure: Sales with its head and its people; a department's page; the chart.
await ann.goto(`${base}/company/structure/`);
check(await ann.getByRole("link", { name: "Sales" }).isVisible() && await ann.getByText("2 people").isVisible(), "the tree shows Sales and its people");
await inspect(ann, "structure");
await ann.getByRole("link", { name: "Sales" }).click();
await ann.getByRole("heading", { name: "Sales", exact: true }).waitFor();
check(await ann.getByRole("link", { name: "Bob Brook" }).isVisible() && await ann.getByRole("link", { name: "Ann Arbor" }).isVisible(), "the department page lists its people");
await inspect(ann, "department");
await ann.getByRole("link", { name: "Absence chart" }).click();
await ann.getByRole("heading", { name: "1 absences" }).waitFor();
check(await ann.getByRole("row", { name: /Bob Brook/ }).isVisible(), "the chart shows Bob's absence");
await inspect(ann, "absences");

// Ann keeps her card up to date: a bad value is refused at its field, good ones are saved.
await ann.goto(card(ids.ann));
await ann.getByRole("link", { name: "Edit the card" }).click();
await ann.getByRole("heading", { name: "Edit the card: Ann Arbor" }).waitFor();
await inspect(ann, "edit");
await ann.getByLabel("Work phone").fill("call me maybe");
await ann.getByRole("button", { name: "Save" }).click();
check(await ann.locator("#f-WORK_PHONE-error[role=alert]").isVisible(), "a bad phone is refused at its field");
check(await ann.getByLabel("Work phone").getAttribute("aria-describedby") === "f-WORK_PHONE-error", "the error is tied to its field");
await ann.getByLabel("Work phone").fill("+49 30 1234567");
await ann.getByLabel("Work position").fill("Key account manager");
await ann.getByLabel("Interests").fill("#climbing #Yoga");
await ann.getByLabel("About me").fill("[i]Hello[/i] from Berlin");
await ann.getByRole("button", { name: "Save" }).click();
await ann.getByText("Your changes are saved.").waitFor();
check(await ann.getByText("Key account manager").isVisible() && await ann.getByText("+49 30 1234567").isVisible(), "the card shows the saved fields");
check(await ann.getByRole("link", { name: "#yoga" }).isVisible(), "and the interests, normalised");
check(await ann.locator(".about i").innerText() === "Hello", "and about me");
// An absence from the edit page: refused at its field when it ends before it begins, then
// recorded, shown, and deleted.
const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
await ann.goto(`${card(ids.ann)}edit/`);
await ann.getByLabel("Kind").selectOption("vacation");
await ann.getByLabel("From", { exact: true }).fill(day(10));
await ann.getByLabel("To", { exact: true }).fill(day(8));
await ann.getByRole("button", { name: "Add the absence" }).click();
check(await ann.locator("#f-DATE_TO-error[role=alert]").isVisible(), "an absence that ends before it begins is refused at its field");
await ann.getByLabel("From", { exact: true }).fill(day(8));
await ann.getByLabel("To", { exact: true }).fill(day(12));
await ann.getByLabel("Note").fill("Lisbon");
await ann.getByRole("button", { name: "Add the absence" }).click();
await ann.getByText(`${day(8)} – ${day(12)}`).waitFor();
check(await ann.getByText("Lisbon").isVisible(), "the absence is recorded and listed");
await ann.getByRole("button", { name: `Delete ${day(8)} – ${day(12)}` }).click();
await ann.getByText("No absences ahead.").waitFor();
check(true, "and deleted");

// Bob reads the message on his own card, and may not edit Ann's.
const bob = await join("bob", "Bob", "Brook");
r = await bob.goto(`${card(ids.ann)}edit/`);
check(r.status() === 404, "another person's edit page is not there for a colleague");
await bob.goto(card(ids.bob));
check(await bob.getByText("Thanks for the demo").isVisible(), "the recipient reads the appreciation's message");
await inspect(bob, "card-own");

// Eve, external: her workgroup only; anyone else's card is 404, like no one's.
const eve = await join("eve", "Eve", "Extern");
const seen = await eve.locator("#results a").allInnerTexts();
check(seen.includes("Ann Arbor") && seen.includes("Eve Extern") && !seen.includes("Bob Brook"), `the extranet user sees her workgroup only (${seen})`);
await inspect(eve, "directory-extranet");
r = await eve.goto(card(ids.bob));
check(r.status() === 404, "another person's card is 404 for her");
r = await eve.goto(card(999999));
check(r.status() === 404, "as is no one's");
r = await eve.goto(card(ids.ann));
check(r.status() === 200, "a co-member's card opens");
r = await eve.goto(`${base}/company/structure/`);
check(r.status() === 404, "the structure is for intranet users");

await browser.close();
console.log("all directory checks passed");
