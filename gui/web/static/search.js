// Message search, in the sidebar: a search box ("Search messages") whose
// results (newest first, the matching words marked) replace nothing but
// sit above the conversation list; choosing one opens its conversation
// scrolled to the message, highlighted. The node searches an index
// (GET /api/v1/search): results follow as the user types.

import { api } from './api.js';
import { h, replace } from './dom.js';
import { listTime, shortID } from './format.js';

const debounceMs = 150;
const resultLimit = 30;

// The box and the results live across sidebar redraws (renderSidebar
// moves these same nodes), so typing keeps its caret and results stay.
let input = null;
let section = null;
let timer = 0;
let asked = 0; // the latest query sent; older answers are dropped

/** pending is the message a chosen result asked to show: { chat, id }. */
let pending = null;

/** searchBox is the sidebar's search field and its results, as nodes to place. */
export function searchBox() {
  if (!input) build();
  return [h('div', { class: 'search' }, input), section];
}

function build() {
  input = h('input', {
    type: 'search', class: 'search-input', placeholder: 'Search messages', 'aria-label': 'Search messages',
    autocomplete: 'off', spellcheck: 'false', dataset: { key: 'search' },
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && input.value) {
      input.value = '';
      run();
    }
  });
  section = h('section', { class: 'side-section search-results', 'aria-labelledby': 'search-head', hidden: true });
}

async function run() {
  const q = input.value;
  const n = ++asked;
  if (!q.trim()) {
    section.hidden = true;
    replace(section);
    return;
  }
  let found;
  try {
    found = await api.search(q, resultLimit);
  } catch (err) {
    if (n !== asked) return;
    show([h('p', { class: 'muted', role: 'status' }, err.message)]);
    return;
  }
  if (n !== asked) return;
  const items = found.results.map(resultItem);
  show([
    found.indexing ? h('p', { class: 'muted' }, 'Older messages are still being indexed.') : null,
    items.length
      ? h('ul', { class: 'conv-list found-list', 'aria-label': 'Search results' }, items)
      : h('p', { class: 'muted', role: 'status' }, 'No messages found.'),
  ]);
}

function show(children) {
  replace(section, h('h2', { id: 'search-head', class: 'side-title' }, 'Search results'), ...children);
  section.hidden = false;
}

/** chatOf is the route and Chat id of a result's conversation. */
function chatOf(r) {
  if (r.conversation_kind === 'group') return { href: `#/group/${r.conversation}`, id: r.conversation };
  const m = r.message;
  const peer = m.outgoing ? m.to : m.from;
  return { href: `#/chat/${encodeURIComponent(peer)}`, id: peer };
}

function marked(snippet, highlights) {
  const chars = Array.from(snippet);
  const out = [];
  let at = 0;
  for (const [s, e] of highlights) {
    if (s < at || e > chars.length || s >= e) continue;
    out.push(chars.slice(at, s).join(''), h('mark', null, chars.slice(s, e).join('')));
    at = e;
  }
  out.push(chars.slice(at).join(''));
  return out;
}

function resultItem(r) {
  const m = r.message;
  const { href, id } = chatOf(r);
  const conv = r.conversation_name || shortID(r.conversation);
  const who = m.outgoing ? 'You' : (m.from_name || shortID(m.from));
  const at = new Date(m.sent_at);
  const link = h('a', {
    class: 'conv found', href, dataset: { key: `found-${m.id}` },
    'aria-label': `${conv}, ${who}: ${r.snippet}`,
    onclick: () => {
      pending = { chat: id, id: m.id };
      // Already open: the hash does not change, so route it again.
      if (location.hash === href) window.dispatchEvent(new HashChangeEvent('hashchange'));
    },
  },
  h('span', { class: 'conv-main' },
    h('span', { class: 'conv-top' },
      h('span', { class: 'conv-name', dir: 'auto' }, r.conversation_kind === 'group' ? `${who} in ${conv}` : conv),
      h('time', { class: 'conv-time', datetime: at.toISOString() }, listTime(at))),
    h('span', { class: 'conv-bottom' },
      h('span', { class: 'conv-preview found-snippet', dir: 'auto' }, marked(r.snippet, r.highlights)))));
  return h('li', null, link);
}

/**
 * showFound is called by a Chat once its newest page is shown: if a search
 * result asked for one of its messages, it loads older pages until the
 * message is there, scrolls to it and highlights it.
 */
export async function showFound(chat) {
  const want = pending;
  if (!want || want.chat !== chat.id) return;
  pending = null;
  for (let pages = 0; pages < 200 && !chat.dead && chat.hasOlder && !chat.msgs.some((m) => m.id === want.id); pages++) {
    await chat.loadOlder();
  }
  if (chat.dead) return;
  chat.goTo(want.id);
  const li = chat.list.querySelector(`li[data-id="${want.id}"]`);
  if (!li) return;
  li.classList.add('found-message');
  setTimeout(() => li.classList.remove('found-message'), 4000);
}
