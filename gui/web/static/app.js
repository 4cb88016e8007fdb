// Parley's web GUI: the app shell, the router and the event stream. Every
// screen is a function (or class) in screens.js or chat.js that draws into
// the main pane and may answer events.

import { api, EventStream, onUnauthorized } from './api.js';
import { Chat } from './chat.js';
import { h, replace } from './dom.js';
import { isolated } from './format.js';
import * as presence from './presence.js';
import * as screens from './screens.js';
import { renderSidebar } from './sidebar.js';
import * as store from './store.js';
import { state } from './store.js';

const root = document.getElementById('app');
let sidebar;
let main;
let banner;
let diskBanner;
let screen = null; // the current screen's handlers
let events = null;
let loggedOut = false;

const hex64 = '([0-9a-f]{64})';
const routes = [
  [/^#?\/?$/, (m) => screens.home(m)],
  [/^#\/invite$/, (m) => screens.invite(m)],
  [/^#\/add$/, (m) => screens.addContact(m)],
  // A link handed over by the browser (web+parley:, see screens.addContact):
  // the form is filled in, and the user confirms.
  [/^#\/add\/(.+)$/, (m, code) => screens.addContact(m, code)],
  [/^#\/requests$/, (m) => screens.requests(m)],
  [/^#\/new-group$/, (m) => screens.newGroup(m)],
  [/^#\/network$/, (m) => screens.network(m)],
  [/^#\/settings$/, (m) => screens.settings(m)],
  [/^#\/chat\/([^/]+)$/, (m, id) => new Chat(m, 'dm', id)],
  [/^#\/contact\/([^/]+)$/, (m, id) => screens.contactDetails(m, id)],
  [new RegExp(`^#/group/${hex64}/members$`), (m, id) => screens.members(m, id)],
  [new RegExp(`^#/group/${hex64}$`), (m, id) => {
    if (state.invites.some((g) => g.id === id)) {
      location.replace(`#/invitation/${id}`);
      return null;
    }
    return new Chat(m, 'group', id);
  }],
  [new RegExp(`^#/invitation/${hex64}$`), (m, id) => screens.invitation(m, id)],
];

function route() {
  if (loggedOut || !state.self) return;
  if (!state.self.named) {
    showOnboarding();
    return;
  }
  const hash = location.hash || '#/';
  screen?.destroy?.();
  screen = null;
  let found = false;
  for (const [re, make] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    found = true;
    let arg = m[1];
    // A link from outside may hold a stray %: taken as it is.
    try { arg = arg === undefined ? undefined : decodeURIComponent(arg); } catch { /* as is */ }
    screen = make(main, arg) ?? {};
    break;
  }
  if (!found) screen = screens.notFound(main, 'There is nothing at this address.');
  // On a phone one pane shows at a time: the list at home, else the screen.
  root.dataset.pane = hash === '#/' || hash === '' ? 'list' : 'main';
  renderSidebar(sidebar, hash);
  focusScreen();
}

/** focusScreen moves focus into a new screen, for keyboard and screen reader users. */
function focusScreen() {
  if (main.contains(document.activeElement)) return;
  const target = main.querySelector('#composer') ?? main.querySelector('h2, h1');
  if (!target) return;
  if (!target.matches('textarea, input')) target.setAttribute('tabindex', '-1');
  // On a phone, focusing the composer would open the keyboard over the history.
  if (target.id === 'composer' && matchMedia('(max-width: 759px)').matches) return;
  target.focus({ preventScroll: true });
}

function showOnboarding() {
  root.dataset.pane = 'onboarding';
  screen?.destroy?.();
  screen = screens.onboarding(main, () => {
    store.changed();
    if (location.hash === '#/invite') route();
    else location.hash = '#/invite'; // hashchange routes
  });
}

function updateTitle() {
  const unread = state.conversations.reduce((n, c) => n + (c.unread || 0), 0);
  document.title = `${unread ? `(${unread}) ` : ''}Parley${state.self ? ` · ${isolated(state.self.name)}` : ''}`;
}

function onEvent(ev) {
  presence.onEvent(ev); // typing, notifications, last seen
  switch (ev.type) {
    case 'message':
      screen?.onMessage?.(ev.message);
      store.refreshSoon('conversations');
      break;
    case 'update': // edited, deleted for everyone, reacted to
      screen?.onUpdate?.(ev.message);
      store.refreshSoon('conversations'); // the preview may be the message changed
      break;
    case 'expired': // a disappearing message's time ran out
      screen?.onExpired?.(ev.message);
      store.refreshSoon('conversations');
      break;
    case 'status':
      screen?.onStatus?.(ev.message);
      store.refreshSoon('conversations');
      break;
    case 'presence':
      state.online.set(ev.peer_id, !!ev.online);
      store.changed();
      screen?.onPresence?.(ev);
      break;
    case 'request':
      store.refreshSoon('requests', 'conversations');
      break;
    case 'contact': // a contact's card changed, or a pending one was added, refused or dropped
      store.refreshSoon('contacts', 'requests', 'conversations', 'pending');
      break;
    case 'group':
      store.refreshSoon('groups', 'invites', 'conversations');
      screen?.onGroup?.(ev.group);
      break;
    case 'file':
      screen?.onFile?.(store.setFile(ev.file));
      break;
    case 'read': // read elsewhere: another window, the CLI, a bot
      store.refreshSoon('conversations');
      break;
    case 'conversation': // muted, archived, pinned, un-archived, blocked (block.js)
      store.refreshSoon('conversations', 'blocked', 'requests');
      break;
    case 'disk': // the node's disk filled, or space was freed
      showDisk(ev.disk);
      break;
    default:
  }
}

function showBanner(text, retry) {
  replace(banner, h('span', null, text),
    retry ? h('button', { type: 'button', class: 'link', onclick: retry }, 'Try now') : null);
  banner.hidden = false;
}

/** showDisk shows, while the node's disk is full, why nothing can be sent or received. */
function showDisk(disk) {
  const full = !!disk?.full;
  replace(diskBanner, full
    ? h('span', null, `${disk.message}. Free some space on the disk that holds Parley's data; your conversations can still be read.`)
    : null);
  diskBanner.hidden = !full;
}

function refreshDisk() {
  api.status().then((st) => showDisk(st.disk)).catch(() => {});
}

function startEvents() {
  let lost = false;
  events = new EventStream({
    onEvent,
    onOpen: (again) => {
      lost = false;
      state.connected = true;
      banner.hidden = true;
      replace(banner);
      refreshDisk(); // it may have filled or emptied while the stream was down
      // Catch up on whatever happened while the stream was down (the
      // node may have restarted): lists, then the screen.
      store.refresh().then(() => { if (again) screen?.reload?.(); })
        .catch(() => {});
    },
    onClose: (wait) => {
      if (loggedOut) return;
      if (!lost) {
        lost = true;
        state.connected = false;
        store.changed();
      }
      // Is the node gone, or did it stop taking our session?
      api.self().catch(() => {});
      showBanner(`Not connected to your Parley node. Trying again in ${Math.ceil(wait / 1000)} s…`,
        () => events.retryNow());
    },
  });
  events.start();
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') events.retryNow();
  });
}

function buildShell() {
  banner = h('div', { class: 'conn-banner', role: 'status', hidden: true });
  diskBanner = h('div', { class: 'conn-banner disk-banner', role: 'alert', hidden: true });
  sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Conversations' });
  main = h('main', { class: 'main', id: 'main' });
  replace(root, h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h('div', { class: 'banners' }, banner, diskBanner, presence.notifyBanner()), sidebar, main);
  root.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    focusScreen();
  });
}

async function boot() {
  onUnauthorized(() => {
    if (loggedOut) return;
    loggedOut = true;
    screen?.destroy?.();
    root.dataset.pane = 'logged-out';
    screens.loggedOut(root);
  });
  buildShell();
  // A file dropped anywhere but on a conversation must not replace the app
  // with the file: the browser would open it.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (e) => {
      if ([...(e.dataTransfer?.types ?? [])].includes('Files')) e.preventDefault();
    });
  }
  store.subscribe(() => {
    if (loggedOut) return;
    updateTitle();
    if (state.self?.named) renderSidebar(sidebar, location.hash || '#/');
    screen?.onState?.();
  });
  try {
    await store.refresh('self');
  } catch (err) {
    if (!loggedOut) {
      replace(main, h('div', { class: 'card error-page' }, h('h1', null, 'Parley is not answering'),
        h('p', null, err.message), h('p', null, 'Start Parley again, then reload this page.')));
    }
    return;
  }
  startEvents();
  window.addEventListener('hashchange', route);
  try {
    await store.refresh();
  } catch { /* the banner says the node is unreachable */ }
  route();
}

boot();
