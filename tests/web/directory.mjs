// The directory's pages in a real browser: three people join through their invitations (Ann
// and Bob in Sales, Eve an extranet user in a workgroup with Ann); they find each other by
// search as they type, by the plain form, by an interest tag and through the structure; the
// card shows what the viewer may read; an appreciation's message reaches its recipient only;
// the extranet user sees only her workgroup and gets 404 for anyone else's card. Every page is
// screenshotted at desktop and phone widths and checked with axe-core.
//
// Ann, an administrator, uploads her photo (previewed first), arranges "my form layout" by
// dragging and by keyboard (and without script), goes back to the default, and edits Bob's
// employment facts, which his own edit page does not offer him.
//
// Environment: CARDFILE_URL, CARDFILE_INVITES ({ann, bob, eve}: tokens), CARDFILE_IDS ({ann,
// bob, eve, sales}), CARDFILE_PNG (a photo, base64), CARDFILE_CHROMIUM, CARDFILE_SCREENSHOTS.
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

// The edit page's own fields (its other forms have entries of the same names).
const annFields = () => ann.locator("form[action$='/edit/']");
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
await annFields().getByLabel("Work phone").fill("call me maybe");
await ann.getByRole("button", { name: "Save", exact: true }).click();
check(await ann.locator("#f-WORK_PHONE-error[role=alert]").isVisible(), "a bad phone is refused at its field");
check(await annFields().getByLabel("Work phone").getAttribute("aria-describedby") === "f-WORK_PHONE-error", "the error is tied to its field");
await annFields().getByLabel("Work phone").fill("+49 30 1234567");
await annFields().getByLabel("Work position").fill("Key account manager");
await annFields().getByLabel("Interests").fill("#climbing #Yoga");
await annFields().getByLabel("About me").fill("[i]Hello[/i] from Berlin");
await ann.getByRole("button", { name: "Save", exact: true }).click();
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

// Her photo: a file that is no image is refused at its field; a PNG is previewed, then stored.
const png = { name: "ann.png", mimeType: "image/png", buffer: Buffer.from(process.env.CARDFILE_PNG, "base64") };
await ann.getByLabel("Choose a photo").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image") });
await ann.getByRole("button", { name: "Upload the photo" }).click();
check(await ann.locator("#f-PHOTO-error[role=alert]").isVisible(), "a file that is no image is refused at its field");
await ann.getByLabel("Choose a photo").setInputFiles(png);
await ann.getByRole("img", { name: "The chosen photo" }).waitFor();
check((await ann.locator("#photo-preview").getAttribute("src")).startsWith("data:image/png"), "the chosen photo is previewed before it is sent");
await ann.getByRole("button", { name: "Upload the photo" }).click();
await ann.getByRole("button", { name: "Remove the photo" }).waitFor();
await ann.goto(card(ids.ann));
check(await ann.locator("img.photo").count() === 1, "the uploaded photo is on her card");

// My form layout: Office dragged before Email, Email moved by keyboard, Appreciations left out.
const detailsOrder = async () => (await ann.locator("dl.fields dt").allInnerTexts());
await ann.goto(card(ids.bob));
const before = await detailsOrder();
check(before.indexOf("Email") < before.indexOf("Office"), `Bob's card in the default layout (${before})`);
await ann.goto(`${card(ids.ann)}edit/`);
check(await ann.getByText("You see every card in the account's default layout").isVisible(), "the layout is the default at first");
const entry = (label) => ann.locator("ol.arrange li").filter({ has: ann.getByLabel(label, { exact: true }) });
await entry("Office").dragTo(entry("Email"), { targetPosition: { x: 20, y: 3 } });
const labels = async () => ann.locator("ol.arrange li label").allInnerTexts();
let order = await labels();
check(order.indexOf("Office") === order.indexOf("Email") - 1, `dragging puts Office before Email (${order.slice(0, 5)})`);
await ann.getByRole("button", { name: "Move Work position down" }).focus();
await ann.keyboard.press("Enter");
order = await labels();
check(order[0] === "Department" && order[1] === "Work position", `Enter on Down moves the entry (${order.slice(0, 3)})`);
check(await ann.evaluate(() => document.activeElement.getAttribute("aria-label")) === "Move Work position down", "focus stays on the button");
check((await ann.locator("#arrange-status").innerText()).startsWith("Work position: position 2 of"), "the move is announced");
await ann.getByLabel("Appreciations", { exact: true }).uncheck();
await ann.getByRole("button", { name: "Save the layout" }).click();
await ann.getByText("You see every card in your own layout.").waitFor();
await ann.goto(card(ids.bob));
order = await detailsOrder();
check(order.indexOf("Office") < order.indexOf("Email"), `Bob's card follows her layout (${order})`);
check(await ann.getByRole("heading", { name: "Appreciations" }).count() === 0, "a section left out is not shown");
// Without script, the buttons still move an entry (the move is saved at once).
const plain = await browser.newContext({ storageState: await ann.context().storageState(), javaScriptEnabled: false });
const noScript = await plain.newPage();
await noScript.goto(`${card(ids.ann)}edit/`);
await noScript.getByRole("button", { name: "Move Email up" }).click();
order = await noScript.locator("ol.arrange li label").allInnerTexts();
check(order.indexOf("Email") < order.indexOf("Office"), "without script an Up button moves and saves");
await plain.close();
await ann.goto(`${card(ids.ann)}edit/`);
await ann.getByRole("button", { name: "Back to the default" }).click();
await ann.getByText("You see every card in the account's default layout").waitFor();
await ann.goto(card(ids.bob));
check(String(await detailsOrder()) === String(before) && await ann.getByRole("heading", { name: "Appreciations" }).isVisible(), "back to the default layout");

// As an administrator she edits Bob's employment facts.
await ann.getByRole("link", { name: "Edit the card" }).click();
await ann.getByRole("heading", { name: "Edit the card: Bob Brook" }).waitFor();
check(await ann.getByRole("heading", { name: "My form layout" }).count() === 0, "another's edit page has no layout of one's own");
await inspect(ann, "edit-admin");
await annFields().getByLabel("Employment date").fill("2019-04-01");
await ann.getByRole("button", { name: "Save", exact: true }).click();
await ann.getByText("Your changes are saved.").waitFor();
check(await ann.locator("dl.fields").getByText("2019-04-01").isVisible(), "the employment date is on Bob's card");

// Bob reads the message on his own card, and may not edit Ann's.
const bob = await join("bob", "Bob", "Brook");
r = await bob.goto(`${card(ids.ann)}edit/`);
check(r.status() === 404, "another person's edit page is not there for a colleague");
await bob.goto(card(ids.bob));
check(await bob.getByText("Thanks for the demo").isVisible(), "the recipient reads the appreciation's message");
await inspect(bob, "card-own");
await bob.goto(`${card(ids.bob)}edit/`);
check(await bob.locator("#f-WORK_PHONE").isVisible() && await bob.locator("#f-UF_EMPLOYMENT_DATE").count() === 0, "his own edit page offers no administrator's field");

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
