// The sidebar: who you are, where to go, and the conversation list with
// unread counts, last messages and presence.

import { bdi, h, icon, replace } from './dom.js';
import { hlcTime, initial, listTime, shortID } from './format.js';
import { api } from './api.js';
import { state, isOnline, refresh } from './store.js';
import { archivedSection, marks, stateWords } from './block.js';
import { timerText } from './timer.js';
import { searchBox } from './search.js';

/** navLinks are the app's places, as icon links in the sidebar's header. */
const navLinks = [
  ['#/invite', 'Your invite code', 'qr'],
  ['#/add', 'Add contact', 'person'],
  ['#/new-group', 'New group', 'group'],
  ['#/network', 'Network', 'network'],
  ['#/settings', 'Settings', 'settings'],
];

export function avatar(name, { group = false, online = null } = {}) {
  const a = h('span', { class: group ? 'avatar group' : 'avatar', 'aria-hidden': 'true' },
    group ? icon('group') : initial(name));
  if (online !== null) a.append(h('span', { class: online ? 'presence online' : 'presence' }));
  return a;
}

/** items merges conversations with the contacts not yet written to. */
function items() {
  const requests = new Set(state.requests.map((r) => r.peer_id));
  const groups = new Map(state.groups.map((g) => [g.id, g]));
  const out = [];
  const seen = new Set();
  for (const c of state.conversations) {
    if (c.kind === 'dm') {
      if (requests.has(c.peer)) continue; // they wait under "Message requests"
      seen.add(c.peer);
      out.push({
        key: c.peer, href: `#/chat/${encodeURIComponent(c.peer)}`, name: c.name || shortID(c.peer),
        online: isOnline(c.peer), unread: c.unread, last: c.last, at: hlcTime(c.last_hlc), ...flags(c),
      });
    } else {
      const g = groups.get(c.id);
      out.push({
        key: c.id, href: `#/group/${c.id}`, name: c.name || g?.name || 'Group', group: true,
        unread: c.unread, last: c.last, at: hlcTime(c.last_hlc), state: g?.state, ...flags(c),
      });
    }
  }
  const fresh = state.contacts.filter((c) => !seen.has(c.peer_id))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const c of fresh) {
    out.push({
      key: c.peer_id, href: `#/chat/${encodeURIComponent(c.peer_id)}`, name: c.name || shortID(c.peer_id),
      online: isOnline(c.peer_id), unread: 0, last: null, at: null,
    });
  }
  return out;
}

/** flags are a conversation's mute, archive, pin and block (block.js). */
function flags(c) {
  return { muted: !!c.muted, archived: !!c.archived, pinned: !!c.pinned_at, blocked: !!c.blocked };
}

function preview(it) {
  if (it.state === 'left') return 'You left this group';
  if (it.state === 'removed') return 'You were removed from this group';
  const m = it.last;
  if (!m) return 'No messages yet';
  if (m.kind === 'mailbox-offer') return m.outgoing ? 'You offered to hold their mail' : 'Offers to hold your mail';
  if (m.kind === 'timer') return `Disappearing messages: ${timerText(m.timer_seconds)}`;
  const text = m.kind === 'file' ? `File: ${m.text}` : m.text.replace(/\s+/g, ' ');
  if (m.outgoing) return `You: ${text}`;
  if (it.group) return `${m.from_name || shortID(m.from)}: ${text}`;
  return text;
}

function describe(it, previewText) {
  const parts = [];
  if (!it.group) parts.push(it.online ? 'online' : 'offline');
  if (it.unread) parts.push(`${it.unread} unread`);
  parts.push(...stateWords(it));
  parts.push(previewText);
  return parts.join('. ');
}

function conversationItem(it, current) {
  const descID = `desc-${it.key}`;
  const pv = preview(it);
  const link = h('a', {
    class: 'conv', href: it.href, 'aria-label': it.name, 'aria-describedby': descID,
    'aria-current': current === it.href ? 'page' : null, dataset: { key: it.key },
  },
  avatar(it.name, { group: it.group, online: it.group ? null : it.online }),
  h('span', { class: 'conv-main' },
    h('span', { class: 'conv-top' },
      h('span', { class: 'conv-name', dir: 'auto' }, it.name),
      ...marks(it),
      it.at ? h('time', { class: 'conv-time', datetime: it.at.toISOString() }, listTime(it.at)) : null),
    h('span', { class: 'conv-bottom' },
      h('span', { class: 'conv-preview', dir: 'auto' }, pv),
      it.unread ? h('span', { class: it.muted ? 'badge muted-badge' : 'badge' }, String(it.unread)) : null)));
  return h('li', null, link, h('span', { id: descID, hidden: true }, describe(it, pv)));
}

function invitations(current) {
  if (!state.invites.length) return null;
  return h('section', { class: 'side-section', 'aria-labelledby': 'inv-head' },
    h('h2', { id: 'inv-head', class: 'side-title' }, 'Group invitations'),
    h('ul', { class: 'invites' }, state.invites.map((g) => h('li', { class: 'invite-item' },
      h('a', {
        href: `#/invitation/${g.id}`, class: 'invite-link', dataset: { key: `inv-${g.id}` },
        'aria-current': current === `#/invitation/${g.id}` ? 'page' : null,
      },
        avatar(g.name, { group: true }),
        h('span', null, h('strong', { dir: 'auto' }, g.name),
          h('span', { class: 'muted' }, ' from ', bdi(g.invited_by_name || shortID(g.invited_by)))))))));
}

/**
 * pendingContacts lists the short codes added while their owner was
 * offline: Parley adds each once their node is reachable; Cancel drops it.
 */
function pendingContacts() {
  if (!state.pending.length) return null;
  return h('section', { class: 'side-section', 'aria-labelledby': 'pending-head' },
    h('h2', { id: 'pending-head', class: 'side-title' }, 'Pending contacts'),
    h('ul', { class: 'invites' }, state.pending.map((p) => {
      const name = p.name || shortID(p.peer_id);
      const cancel = h('button', {
        type: 'button', class: 'link', 'aria-label': `Cancel adding ${name}`, dataset: { key: `pending-${p.peer_id}` },
        onclick: async () => {
          cancel.disabled = true;
          try {
            await api.cancelPending(p.peer_id);
          } catch (err) {
            cancel.disabled = false;
            cancel.title = err.message;
          }
          await refresh('pending').catch(() => {});
        },
      }, 'Cancel');
      return h('li', { class: 'invite-item pending-item' },
        avatar(name),
        h('span', null, h('strong', { dir: 'auto' }, name),
          h('span', { class: p.state === 'refused' ? 'muted warning' : 'muted' }, p.note)),
        cancel);
    })));
}

function requestsLink(current) {
  const n = state.requests.length;
  if (!n) return null;
  return h('a', {
    href: '#/requests', class: 'requests-link', dataset: { key: 'requests' }, 'aria-label': `Message requests (${n})`,
    'aria-current': current === '#/requests' ? 'page' : null,
  }, icon('inbox'), h('span', null, 'Message requests'), h('span', { class: 'badge' }, String(n)));
}

/** renderSidebar redraws the sidebar in place, keeping keyboard focus. */
export function renderSidebar(root, current) {
  const focusKey = root.contains(document.activeElement) ? document.activeElement.dataset?.key : null;
  const scrolled = root.querySelector('.side-body')?.scrollTop ?? 0;
  const all = items();
  const list = all.filter((it) => !it.archived);
  const self = state.self;
  replace(root,
    h('header', { class: 'side-head' },
      h('div', { class: 'brand-row' },
        h('h1', { class: 'brand' }, 'Parley'),
        self ? h('span', { class: 'me', title: self.peer_id, dir: 'auto' }, self.name) : null),
      h('nav', { class: 'toolbar', 'aria-label': 'Main' },
        navLinks.map(([href, label, ic]) => h('a', {
          href, class: 'tool', title: label, 'aria-label': label, dataset: { key: href },
          'aria-current': current === href ? 'page' : null,
        }, icon(ic))))),
    h('div', { class: 'side-body' },
      searchBox(),
      requestsLink(current),
      invitations(current),
      pendingContacts(),
      h('section', { class: 'side-section', 'aria-labelledby': 'conv-head' },
        h('h2', { id: 'conv-head', class: 'side-title' }, 'Conversations'),
        list.length
          ? h('ul', { class: 'conv-list' }, list.map((it) => conversationItem(it, current)))
          : all.length ? h('p', { class: 'empty' }, 'Every conversation is archived.') : h('div', { class: 'empty' },
            h('p', null, 'No conversations yet.'),
            h('p', null, h('a', { href: '#/add' }, 'Add a contact'), ' with their invite code, or ',
              h('a', { href: '#/invite' }, 'share yours'), '.'))),
      archivedSection(all.filter((it) => it.archived), (it) => conversationItem(it, current))));
  // Redrawn, the list keeps its scroll position and the keyboard focus.
  root.querySelector('.side-body').scrollTop = scrolled;
  if (focusKey) root.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
}
