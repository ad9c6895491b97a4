// The console in a real browser (Debian's chromium driven by playwright-core, headless) on a real
// platform: log in, find an order's trace and see its spans from five services and more, open the
// breaker on payment by editing its policy on the page and stopping payment, replay a dead letter from
// the page and see it handled. Each page's screenshot goes to tests/e2e/screenshots/ (git-ignored).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { waitFor } from "../../services/kit/testing";
import { OrderConfirmed } from "../../services/order/contract/events";
import { startSmtpTestServer, type SmtpTestServer } from "../../services/notification/testing/smtp-test-server";
import { testPlatform } from "./support/test-platform";
import { placeOrder } from "./support/console-session";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(import.meta.dir, "screenshots");
const SERVICES = ["customer", "inventory", "payment", "order", "gateway", "notification", "marketing"];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`console-browser: skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);

const platform = testPlatform("consb", {
  OTEL_BSP_SCHEDULE_DELAY: "100",
  CONSUMER_BACKOFF_MS: "200,400",
  CONSUMER_MAX_DELIVER: "2",
});
let smtp: SmtpTestServer;
let browser: Browser;
let page: Page;
let consoleUrl: string;
let gateway: string;
const adminKey = () => platform.gatewaySecrets.GATEWAY_ADMIN_API_KEY;
const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe.skipIf(!haveChromium)("the console in a browser", () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    smtp = await startSmtpTestServer();
    consoleUrl = (await platform.start("console", { ...platform.gatewaySecrets, CONSOLE_SAMPLE_MS: "500" })).http;
    // In two waves: eight processes starting at once on a busy machine may miss their start timeout.
    for (const wave of [SERVICES.slice(0, 4), SERVICES.slice(4)])
      await Promise.all(
        wave.map((name) =>
          platform.start(name, {
            OTEL_EXPORTER_OTLP_ENDPOINT: consoleUrl,
            ...(name === "notification" ? { SMTP_URL: smtp.url } : {}),
          }),
        ),
      );
    gateway = platform.proc("gateway").http;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Every action on the console asks first; the operator says yes.
    page.on("dialog", (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
    await smtp?.close();
  });

  test("the login comes first; the admin key opens the services page with every service", async () => {
    await page.goto(`${consoleUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/login");
    await page.fill("input[name=key]", "wrong-key-wrong-key");
    await page.click("button[type=submit]");
    await page.waitForURL(/failed=1/);
    await page.fill("input[name=key]", adminKey());
    await page.click("button[type=submit]");
    await page.waitForURL(`${consoleUrl}/`);
    for (const s of SERVICES) await page.locator(`tr[data-service="${s}"]`).first().waitFor({ timeout: 10_000 });
    await shot("services");
  });

  test("an order placed through the gateway: its trace is found by the order id and shows spans of five services and more", async () => {
    const { orderId, status } = await placeOrder(gateway, adminKey());
    expect(status).toBe("ORDER_STATUS_CONFIRMED");
    await page.goto(`${consoleUrl}/traces`);
    await page.fill("input[name=order]", orderId);
    await page.click("form.search button[type=submit]");
    // The confirmation's trace: gateway, order, inventory, payment, and the event's consumers.
    const confirmation = page.locator("tr.trace", { hasText: "payment" }).first();
    await waitFor(
      async () => {
        await page.reload();
        const services = (await confirmation.locator("td").nth(2).textContent({ timeout: 1000 })) ?? "";
        return services.split(", ").length >= 5;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: "the confirmation's trace with five services" },
    );
    await shot("traces");
    await confirmation.locator("a").first().click();
    await page.waitForURL(/\/traces\/[0-9a-f]{32}$/);
    const services = new Set(
      await page.locator("tr.span").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-service"))),
    );
    expect(services.size).toBeGreaterThanOrEqual(5);
    expect(await page.locator("tr.span .bar span").count()).toBe(await page.locator("tr.span").count());
    await shot("waterfall");

    await page.goto(`${consoleUrl}/orders/${orderId}`);
    await page.locator('tr.step[data-what="saga"]', { hasText: "record order confirmed" }).waitFor();
    await page.locator('tr.step[data-what="event published"]').first().waitFor();
    await shot("order");
    await page.goto(`${consoleUrl}/calls`);
    await page.locator('tr.edge[data-from="order"][data-to="payment"]').waitFor();
    await shot("calls");
  });

  test("a dead letter replayed from the page is handled and leaves the list; another is purged from its row", async () => {
    smtp.refuse(451, Infinity);
    const { orderId } = await placeOrder(gateway, adminKey());
    await page.goto(`${consoleUrl}/dead-letters`);
    const row = page.locator("tr.letter", { hasText: "notification-order-emails" }).first();
    await row.waitFor({ timeout: 20_000 }); // the page refreshes itself
    const id = await row.getAttribute("data-id");
    await page.goto(`${consoleUrl}/dead-letters/${id}`);
    expect(await page.locator("pre").first().textContent()).toContain(orderId);
    await shot("dead-letter");
    await page.goto(`${consoleUrl}/dead-letters`);
    await shot("dead-letters");

    const mailed = smtp.mails.length;
    smtp.accept();
    await page.locator(`tr.letter[data-id="${id}"] button.replay`).click();
    await page
      .locator("#flash", { hasText: `resolved ${id}: notification-order-emails handled it` })
      .waitFor({ timeout: 15_000 });
    await page.locator(`tr.letter[data-id="${id}"]`).waitFor({ state: "detached" });
    expect(smtp.mails.length).toBeGreaterThan(mailed);

    // A poison event marketing refuses at once: purged from its row, after the page asked.
    const { id: eventId } = await platform.streams.publish(OrderConfirmed, {
      order: { id: crypto.randomUUID(), customerId: "nobody" },
    });
    // (Notification refuses it too: its own dead letter of the same event stays.)
    const poison = page.locator("tr.letter", { hasText: eventId }).filter({ hasText: "marketing-order-profiles" });
    await poison.waitFor({ timeout: 15_000 });
    const poisonId = await poison.getAttribute("data-id");
    await poison.locator("button", { hasText: "Purge" }).click();
    await page.locator("#flash", { hasText: `purged ${poisonId}` }).waitFor();
    await page.locator(`tr.letter[data-id="${poisonId}"]`).waitFor({ state: "detached" });
    expect(await platform.streams.deadLetters.get(Number(poisonId))).toBeUndefined();
    await page.goto(`${consoleUrl}/events`);
    await page.locator(`tr.stream[data-consumer="notification-order-emails"]`).waitFor();
    await shot("events");
  });

  test("payment made to fail: the policy edited on the page, payment stopped, the order service's breaker on payment shows open", async () => {
    await page.goto(`${consoleUrl}/`);
    const editor = page.locator("#policy-payment");
    await editor.fill(
      JSON.stringify({ breaker: { minimumCalls: 2, halfOpenAfterMs: 120_000 }, retry: { maxRetries: 0 } }),
    );
    await page.locator('tr[data-target="payment"] button', { hasText: "Save" }).click();
    await page.locator("#flash", { hasText: "set payment (revision" }).waitFor();
    await Promise.all(platform.procs.filter((p) => p.name === "payment").map((p) => platform.stopProcess(p)));

    // Orders confirmed while payment is gone wait for it (PAYMENT_PENDING); their calls open the breaker.
    for (let i = 0; i < 4; i++)
      expect((await placeOrder(gateway, adminKey())).status).not.toBe("ORDER_STATUS_CONFIRMED");
    await page
      .locator('tr[data-service="order"] .breaker[data-target="payment"][data-state="open"]')
      .waitFor({ timeout: 15_000 });
    await page.locator('tr[data-target="payment"] .breaker[data-state="open"]').first().waitFor();
    await shot("breaker-open");
  });
});
