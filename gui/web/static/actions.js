// What a user does to a message: reply, edit, delete, react (a "Message
// actions" menu on each message), and how a message shows what was done
// to it: its quote, "edited", "deleted" and its reactions.

import { api } from './api.js';
import { h } from './dom.js';
import * as store from './store.js';
import { showMessageInfo } from './groupconv.js';

// The reactions offered; any emoji the node accepts may come from peers.
export const quickReactions = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** firstLine is the first line of a message's text, for quotes. */
export function firstLine(text) {
  return (text ?? '').split('\n')[0];
}

/** act sends one action on message m of the chat's conversation. */
export function act(chat, m, action, extra = {}) {
  return api.act({ action, conversation: chat.id, message: m.id, ...extra });
}

/** quoteEl shows what a reply answers; activating it goes to that message. */
export function quoteEl(m, chat) {
  const q = m.quote;
  if (!m.reply_to || !q) return null;
  let who = '';
  let text;
  if (q.missing) text = 'A message you do not have';
  else if (q.deleted) text = 'A deleted message';
  else {
    who = store.contact(q.from)?.name || q.from_name || (q.from === store.state.self?.peer_id ? 'You' : 'Someone');
    text = q.text;
  }
  const label = q.missing || q.deleted ? `Reply to: ${text}` : `Reply to ${who}: ${text}`;
  return h('button', {
    type: 'button', class: 'quote', 'aria-label': label, title: 'Go to the message',
    disabled: q.missing, onclick: () => chat.goTo(m.reply_to),
  }, who ? h('span', { class: 'quote-from', dir: 'auto' }, who) : null, h('span', { class: 'quote-text', dir: 'auto' }, text));
}

/** reactionsEl lists a message's reactions; each toggles the user's own. */
export function reactionsEl(m, chat) {
  const entries = Object.entries(m.reactions ?? {});
  if (!entries.length) return null;
  const self = store.state.self?.peer_id;
  return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    entries.map(([emoji, peers]) => {
      const mine = peers.includes(self);
      const names = peers.map((p) => (p === self ? 'you' : store.contact(p)?.name || 'someone')).join(', ');
      return h('button', {
        type: 'button', class: `reaction${mine ? ' mine' : ''}`, 'aria-pressed': String(mine),
        'aria-label': `${emoji} ${peers.length}: ${names}`, title: names,
        onclick: () => chat.react(m, emoji, mine),
      }, emoji, h('span', { class: 'count' }, String(peers.length)));
    }));
}

let openMenu = null; // the one menu open, closed by Escape or a click elsewhere

function closeMenu(focusButton = false) {
  if (!openMenu) return;
  const { menu, button } = openMenu;
  openMenu = null;
  menu.remove();
  button.setAttribute('aria-expanded', 'false');
  if (focusButton) button.focus();
}

document.addEventListener('click', (e) => {
  if (openMenu && !openMenu.menu.contains(e.target) && !openMenu.button.contains(e.target)) closeMenu();
});

/** showMenu opens a menu of items ({label, run}) under button. */
export function showMenu(button, label, items) {
  closeMenu();
  const els = items.map((it) => h('button', {
    type: 'button', role: 'menuitem', class: 'menu-item', tabindex: '-1',
    // Stopped here: a submenu opened by run must not be closed by the
    // document's click handler, which would find the target gone.
    onclick: (e) => { e.stopPropagation(); closeMenu(); it.run(); },
  }, it.label));
  const menu = h('div', { role: 'menu', class: 'msg-menu', 'aria-label': label }, els);
  menu.addEventListener('keydown', (e) => {
    const i = els.indexOf(document.activeElement);
    if (e.key === 'Escape') { e.preventDefault(); closeMenu(true); }
    if (e.key === 'ArrowDown') { e.preventDefault(); els[(i + 1) % els.length].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); els[(i - 1 + els.length) % els.length].focus(); }
  });
  button.after(menu);
  button.setAttribute('aria-expanded', 'true');
  openMenu = { menu, button };
  els[0]?.focus();
}

/** actionsButton is the "Message actions" menu of message m. */
export function actionsButton(m, chat) {
  if (m.deleted || !['text', 'file'].includes(m.kind)) return null;
  const button = h('button', {
    type: 'button', class: 'msg-actions tool', 'aria-label': 'Message actions', title: 'Message actions',
    'aria-haspopup': 'menu', 'aria-expanded': 'false',
  }, '⋯');
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (openMenu?.button === button) { closeMenu(); return; }
    const items = [];
    if (chat.canWrite) items.push({ label: 'Reply', run: () => chat.startReply(m) });
    if (chat.canWrite && m.outgoing && m.kind === 'text') items.push({ label: 'Edit', run: () => chat.startEdit(m) });
    if (chat.canWrite) {
      items.push({
        label: 'React',
        run: () => showMenu(button, 'Reactions', quickReactions.map((emoji) => ({ label: emoji, run: () => chat.react(m, emoji, false) }))),
      });
    }
    items.push({ label: 'Delete', run: () => chat.confirmDelete(m) });
    items.push({ label: 'Message info', run: () => showMessageInfo(m, chat) });
    showMenu(button, 'Message actions', items);
  });
  return button;
}

/** mayDeleteForEveryone: our own message, or any in a group we administer. */
export function mayDeleteForEveryone(m, chat) {
  return m.outgoing || (chat.isGroup && chat.group?.role === 'admin');
}
