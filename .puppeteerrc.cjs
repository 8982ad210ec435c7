// The browser tests drive the system's Chromium (/usr/bin/chromium, see test/e2e/browser.ts);
// puppeteer's own browser download is neither needed nor possible offline.
module.exports = { skipDownload: true };
