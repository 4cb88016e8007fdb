// Formatting for people: times, days, peer IDs, statuses.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
const shortDayFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

export function time(d) { return timeFmt.format(d); }
export function fullTime(d) { return fullFmt.format(d); }

/** dayKey is a local calendar day, to tell when a separator is due. */
export function dayKey(d) {
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

function daysAgo(d, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(d)) / 86400000);
}

/** dayLabel names a day for a separator: Today, Yesterday, or the date. */
export function dayLabel(d, now = new Date()) {
  const n = daysAgo(d, now);
  if (n === 0) return 'Today';
  if (n === 1) return 'Yesterday';
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return dayYearFmt.format(d);
}

/** listTime is a conversation list's time: the hour today, else the day. */
export function listTime(d, now = new Date()) {
  const n = daysAgo(d, now);
  if (n === 0) return timeFmt.format(d);
  if (n === 1) return 'Yesterday';
  if (n < 7) return weekdayFmt.format(d);
  return shortDayFmt.format(d);
}

/** shortID shortens a peer ID for display: its distinctive end. */
export function shortID(id) {
  if (!id) return '';
  return id.length > 14 ? `…${id.slice(-8)}` : id;
}

/**
 * isolated wraps text a peer chose in first-strong and pop-directional
 * isolates, for where no element can hold it (the page title, the
 * dialog and drop-zone texts): a right-to-left override inside stays inside.
 * (aria-labels keep names plain: speech follows the logical order.)
 */
export function isolated(text) {
  return `\u2068${text}\u2069`;
}

/** hlcTime reads an HLC (decimal string) as the wall-clock time it holds. */
export function hlcTime(hlc) {
  if (!hlc || hlc === '0') return null;
  return new Date(Number(BigInt(hlc) >> 16n));
}

export function initial(name) {
  const c = (name || '?').trim().codePointAt(0);
  return c ? String.fromCodePoint(c).toUpperCase() : '?';
}

/** compareMessages orders messages for display: HLC, then ID. */
export function compareMessages(a, b) {
  const ha = BigInt(a.hlc), hb = BigInt(b.hlc);
  if (ha !== hb) return ha < hb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** size is a file's size for people, in 1024s: "512 B", "1.5 KB", "200 MB". */
export function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const s = v >= 100 ? v.toFixed(0) : v.toFixed(1).replace(/\.0$/, '');
  return `${s} ${units[i]}`;
}

export const statusText = {
  queued: 'queued',
  sent: 'sent',
  stored: 'stored in a mailbox',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
};

export const reachabilityText = {
  public: 'Reachable from the internet: others can connect to you directly.',
  private: 'Behind a NAT or firewall: others reach you by hole punching or through a relay.',
  unknown: 'Not known yet: the node has not been able to test it (no public address seen).',
};
