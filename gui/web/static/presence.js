// Presence in the web GUI: typing indicators (ours sent as the user
// types, others' shown under the conversation), last seen in a DM's
// header, desktop notifications for messages that arrive where the user
// is not looking, and a draft per conversation that survives a reload.
//
// Drafts stay in this browser (localStorage, keyed by conversation): a
// draft is half-written text the user has not chosen to send anywhere, so
// it does not go to the node, and other browsers do not see it. The
// "Show message previews" choice is this browser's too: it is about what
// this screen shows.

import { api } from './api.js';
import { h, replace, switchForm } from './dom.js';
import { shortID } from './format.js';
import * as store from './store.js';
import { state } from './store.js';

// ------------------------------------------------------------ typing

/** typingEvery: the page says "typing" at most this often per conversation (the node holds the same limit). */
const typingEvery = 3000;
/** typingShownFor bounds how long someone shows typing if their "stopped" never comes (the stream dropped). */
const typingShownFor = 10000;

// typists: conversation ID → Map(peer ID → timer that hides them).
const typists = new Map();
const typingViews = new Set(); // the typing regions on screen, each { conv, el }

/** typingText says who is typing among the typists match(conv, peer) takes. */
function typingText(match) {
  const peers = [];
  for (const [conv, m] of typists) for (const p of m.keys()) if (match(conv, p)) peers.push(p);
  const names = peers.map((p) => store.nameOf(p) || shortID(p));
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

function renderTyping() {
  for (const v of typingViews) {
    const text = typingText(v.match);
    if (v.el.textContent !== text) v.el.textContent = text;
  }
}

function setTyping(conv, peer, typing) {
  let m = typists.get(conv);
  clearTimeout(m?.get(peer));
  if (typing) {
    if (!m) typists.set(conv, m = new Map());
    m.set(peer, setTimeout(() => setTyping(conv, peer, false), typingShownFor));
  } else if (m) {
    m.delete(peer);
    if (!m.size) typists.delete(conv);
  }
  renderTyping();
}

/**
 * typingRegion is the line under a conversation that says who is typing,
 * announced politely to screen readers: kind "group" (id: its ID) or "dm"
 * (id: the peer, whose typing in any conversation but a group's is ours).
 */
export function typingRegion(kind, id) {
  const el = h('div', { class: 'typing', role: 'status', 'aria-live': 'polite' });
  const match = kind === 'group' ? (conv) => conv === id : (conv, peer) => peer === id && !store.group(conv);
  const view = { match, el };
  typingViews.add(view);
  renderTyping();
  return { el, destroy: () => typingViews.delete(view) };
}

/**
 * typingSender says "typing" for conversation to (a peer ID or group ID)
 * as the user types into ta, and "stopped" when the text is cleared or the
 * view goes; a send ends it on the other side by itself.
 */
export function typingSender(to, ta) {
  let last = 0; // when we last said "typing"; 0: we are not typing
  const say = (active) => api.typing(to, active).catch(() => { /* typing is best effort */ });
  const onInput = () => {
    if (!ta.value.trim()) {
      if (last) say(false);
      last = 0;
      return;
    }
    const now = Date.now();
    if (now - last < typingEvery) return;
    last = now;
    say(true);
  };
  ta.addEventListener('input', onInput);
  return {
    sent: () => { last = 0; },
    destroy: () => {
      ta.removeEventListener('input', onInput);
      if (last) say(false);
      last = 0;
    },
  };
}

// ------------------------------------------------------------ last seen

const minute = 60 * 1000;

/** lastSeenText says when a contact was last online: "last seen 5 min ago", or '' when they share none. */
export function lastSeenText(peerID, now = Date.now()) {
  const iso = store.contact(peerID)?.last_seen;
  if (!iso) return '';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const ago = Math.max(0, now - t);
  if (ago < minute) return 'last seen just now';
  if (ago < 60 * minute) return `last seen ${Math.floor(ago / minute)} min ago`;
  const d = new Date(t);
  const today = new Date(now);
  const hm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === today.toDateString()) return `last seen today at ${hm}`;
  const yesterday = new Date(now - 24 * 60 * minute);
  if (d.toDateString() === yesterday.toDateString()) return `last seen yesterday at ${hm}`;
  return `last seen ${d.toLocaleDateString([], { day: 'numeric', month: 'short' })}`;
}

// ------------------------------------------------------------ notifications

const previewsKey = 'parley.notify.previews';
const dismissedKey = 'parley.notify.dismissed';

function previewsOn() { return localStorage.getItem(previewsKey) !== 'off'; }

function notificationsSupported() { return typeof window.Notification === 'function'; }

/** onScreen: the page is visible and shows the conversation of message m. */
function onScreen(m) {
  if (document.visibilityState !== 'visible') return false;
  const hash = location.hash;
  return hash === `#/group/${m.conversation}` || hash === `#/chat/${encodeURIComponent(m.from)}`;
}

function muted(m) {
  const conv = state.conversations.find((c) => c.id === m.conversation);
  return conv?.muted === true;
}

/** notify shows a desktop notification for an incoming message, unless the user sees it already or muted its conversation. */
function notify(m) {
  if (!m || m.outgoing || !notificationsSupported() || Notification.permission !== 'granted') return;
  if (m.kind !== 'text' && m.kind !== 'file') return;
  if (onScreen(m) || muted(m)) return;
  const group = !m.to;
  const sender = store.nameOf(m.from) || m.from_name || shortID(m.from);
  const groupName = group ? (store.group(m.conversation)?.name || store.conversationForGroup(m.conversation)?.name) : '';
  const title = groupName ? `${sender} in ${groupName}` : sender;
  let body = 'New message';
  if (previewsOn()) body = m.kind === 'file' ? `File: ${m.text}` : m.text;
  try {
    const n = new Notification(title, { body, tag: m.conversation, icon: '/static/icon.svg' });
    n.onclick = () => {
      window.focus();
      location.hash = group ? `#/group/${m.conversation}` : `#/chat/${encodeURIComponent(m.from)}`;
      n.close();
    };
  } catch { /* a browser that allows notifications only from a service worker */ }
}

/**
 * notifyBanner offers, once, to turn notifications on: shown while the
 * browser has not been asked and the user has not said "Not now". The
 * browser is asked only on the user's click.
 */
export function notifyBanner() {
  const el = h('div', { class: 'conn-banner notify-banner', role: 'region', 'aria-label': 'Notifications', hidden: true });
  const show = () => {
    const ask = notificationsSupported() && Notification.permission === 'default' && !localStorage.getItem(dismissedKey);
    el.hidden = !ask;
    if (!ask) return;
    const on = h('button', { type: 'button', class: 'primary' }, 'Turn on notifications');
    const later = h('button', { type: 'button', class: 'link' }, 'Not now');
    on.addEventListener('click', async () => {
      await Notification.requestPermission().catch(() => {});
      localStorage.setItem(dismissedKey, '1');
      show();
    });
    later.addEventListener('click', () => {
      localStorage.setItem(dismissedKey, '1');
      show();
    });
    replace(el, h('span', null, 'Get a notification when a message arrives while Parley is in the background.'), on, later);
  };
  show();
  return el;
}

// ------------------------------------------------------------ drafts

const draftPrefix = 'parley.draft.';

/**
 * keepDraft restores the unsent text of conversation key into ta and keeps
 * it as the user types; cleared() forgets it (after a send).
 */
export function keepDraft(key, ta) {
  const k = draftPrefix + key;
  const saved = localStorage.getItem(k);
  if (saved && !ta.value) {
    ta.value = saved;
    ta.dispatchEvent(new Event('input')); // grows the box; no "typing" goes: see typingSender's caller
  }
  const save = () => {
    try {
      if (ta.value) localStorage.setItem(k, ta.value);
      else localStorage.removeItem(k);
    } catch { /* storage full: the draft is not kept */ }
  };
  ta.addEventListener('input', save);
  return { cleared: () => localStorage.removeItem(k) };
}

// ------------------------------------------------------------ settings

function permissionText() {
  if (!notificationsSupported()) return 'This browser cannot show notifications.';
  if (Notification.permission === 'granted') return 'Notifications are on in this browser.';
  if (Notification.permission === 'denied') return 'This browser blocks notifications from Parley: allow them in its site settings.';
  return 'Notifications are off in this browser.';
}

/** section is the Settings screen's "Privacy and notifications". loaded: the settings, a promise. */
export function section(loaded) {
  const status = h('p', { role: 'status' }, permissionText());
  const ask = h('button', { type: 'button', class: 'secondary', hidden: !notificationsSupported() || Notification.permission !== 'default' },
    'Turn on notifications');
  ask.addEventListener('click', async () => {
    await Notification.requestPermission().catch(() => {});
    status.textContent = permissionText();
    ask.hidden = Notification.permission !== 'default';
  });
  return h('section', { 'aria-labelledby': 'set-presence' }, h('h3', { id: 'set-presence' }, 'Privacy and notifications'),
    switchForm('Typing indicators',
      'Contacts and group members see when you are typing, and you see when they are. Off: neither.',
      () => loaded.then((s) => s.typing_indicators),
      async (on) => (await api.setPresence({ typing_indicators: on })).typing_indicators),
    switchForm('Last seen',
      'Your contacts see when you were last online, and you see theirs. Off: neither; "online" still shows while you are connected.',
      () => loaded.then((s) => s.last_seen),
      async (on) => {
        const s = await api.setPresence({ last_seen: on });
        store.refreshSoon('contacts');
        return s.last_seen;
      }),
    h('div', { class: 'stack' }, status, ask),
    switchForm('Show message previews',
      'Notifications show the text of the message. Off: only who wrote. This browser only.',
      () => previewsOn(),
      (on) => {
        localStorage.setItem(previewsKey, on ? 'on' : 'off');
        return on;
      }));
}

// ------------------------------------------------------------ events

/** onEvent takes the events presence cares about (app.js passes every one). */
export function onEvent(ev) {
  switch (ev.type) {
    case 'typing':
      setTyping(ev.conversation, ev.peer_id, !!ev.typing);
      break;
    case 'message':
      if (ev.message && !ev.message.outgoing) setTyping(ev.message.conversation, ev.message.from, false);
      notify(ev.message);
      break;
    case 'presence': // going offline records their last seen
      if (!ev.online) store.refreshSoon('contacts');
      break;
    default:
  }
}

// "last seen 5 min ago" ages: redraw once a minute.
setInterval(() => { if (document.visibilityState === 'visible') store.changed(); }, minute);
