// The web console in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
// shared by the test/console-*.test.ts files: a built console, a page, axe-core, screenshots.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterEach, expect } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export function warnIfNoChromium(file: string) {
  if (!haveChromium) console.warn(`${file}: SKIPPED — ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);
}

export interface ConsoleBrowser {
  browser: Browser;
  page: Page;
  /** The folder the screenshots go to (printed). */
  shots: string;
  /** Content-Security-Policy refusals the page logged. */
  cspErrors: string[];
  /** A full-page screenshot, numbered in order. */
  shot(name: string, p?: Page): Promise<unknown>;
  /** axe-core in the page (evaluate is not subject to the page's CSP); serious or critical violations fail. */
  axe(where: string): Promise<void>;
  close(): Promise<void>;
}

/** After each failed test of the calling suite, a screenshot of what the page showed. */
export function screenshotFailures(browser: () => ConsoleBrowser | undefined) {
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") await browser()?.shot(`failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, "-")}`);
  });
}

/** Builds the console when dist/console is missing, launches Chromium, opens a page. */
export async function openConsoleBrowser(name: string): Promise<ConsoleBrowser> {
  if (!existsSync(path.join(root, "dist/console/index.html"))) spawnSync(process.execPath, [path.join(root, "scripts/build.mjs")], { stdio: "inherit" });
  const shots = path.join(os.tmpdir(), `portcullis-${name}-screenshots-${Date.now()}`);
  mkdirSync(shots, { recursive: true });
  console.log(`${name}: screenshots in ${shots}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const cspErrors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  let n = 0;
  return {
    browser,
    page,
    shots,
    cspErrors,
    shot: (what, p = page) => p.screenshot({ path: path.join(shots, `${String(++n).padStart(2, "0")}-${what}.png`), fullPage: true }),
    async axe(where) {
      await page.evaluate(axeSource);
      const violations = await page.evaluate<string[]>(`axe.run({ resultTypes: ["violations"] }).then((r) => r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => v.id + ": " + v.nodes.map((x) => x.target.join(" ")).join(", ")))`);
      expect(violations, `axe on ${where}`).toEqual([]);
    },
    close: () => browser.close(),
  };
}

/** Signs in with a PAT on the sign-in page and waits for the machine user list. */
export async function signInWithPat(page: Page, url: string, pat: string) {
  await page.goto(`${url}/ui/console/`);
  await page.getByLabel("Personal access token").fill(pat);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Machine users" }).waitFor();
}
