/**
 * Browser and OS from a User-Agent string, for a sessions list ("Chrome 126 on macOS").
 * A short, ordered rule list instead of a UA library: the account page only needs
 * the family and major version of the common browsers, and this stays ~1 KB with
 * no dependency to keep current. Order matters: Edge and Opera also say "Chrome",
 * and Chrome also says "Safari".
 */
export interface UserAgentInfo {
  browser: string;
  os: string;
  mobile: boolean;
}

const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\b(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bYaBrowser\/(\d+)/, 'Yandex Browser'],
  [/\bVivaldi\/(\d+)/, 'Vivaldi'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/\bHeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/\b(?:Chrome|CriOS|Chromium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)(?:[\d.]*) (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/\bcurl\/(\d+)/, 'curl'],
  [/\bnode(?:-fetch)?\b|\bundici\b/i, 'Node.js'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\bWindows Phone\b/, 'Windows Phone'],
  [/\bWindows\b/, 'Windows'],
  [/\biPad\b/, 'iPadOS'],
  [/\b(?:iPhone|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
  const s = ua ?? '';
  let browser = 'Unknown browser';
  for (const [re, name] of BROWSERS) {
    const m = re.exec(s);
    if (m) {
      browser = m[1] ? `${name} ${m[1]}` : name;
      break;
    }
  }
  const os = SYSTEMS.find(([re]) => re.test(s))?.[1] ?? 'Unknown OS';
  return { browser, os, mobile: /\bMobi|\biPhone\b|\bAndroid\b.*\bMobile\b/.test(s) };
}
