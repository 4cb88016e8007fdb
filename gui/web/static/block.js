// Block and unblock a peer; mute, archive and pin a conversation
// (POST /api/v1/blocked, /api/v1/conversations/state). A "Conversation
// options" menu in a conversation's header holds them; the sidebar lists
// pinned conversations first and archived ones apart.

import { api } from './api.js';
import { errorBox, h, icon, replace } from './dom.js';
import { shortID } from './format.js';
import { showMenu } from './actions.js';
import { confirmDialog } from './screens.js';
import * as store from './store.js';

/** isBlocked: the user blocked this peer. */
export function isBlocked(peerID) {
  return store.state.blocked.some((b) => b.peer_id === peerID);
}

/** conversationOf is the listed conversation a chat shows, if any. */
function conversationOf(chat) {
  return chat.isGroup ? store.conversationForGroup(chat.id) : store.conversationForPeer(chat.id);
}

async function setState(chat, change) {
  try {
    await api.setConversationState({ conversation: chat.id, ...change });
  } catch (err) {
    chat.loadError.show(err.message);
  }
  await store.refresh('conversations').catch(() => {});
}

/** confirmBlock asks, then blocks or unblocks the peer; true when done. */
export async function confirmBlock(peerID, name, block, onError) {
  const ok = await confirmDialog(
    block ? `Block ${name}?` : `Unblock ${name}?`,
    block
      ? 'Their messages, calls for your attention and files are dropped unread, and they are not told. You send them nothing: no receipts, no card, no mailbox. Their group messages are hidden from you.'
      : 'Their new messages reach you again. What they sent while blocked stays dropped.',
    block ? 'Block' : 'Unblock');
  if (!ok) return false;
  try {
    if (block) await api.block(peerID);
    else await api.unblock(peerID);
  } catch (err) {
    onError(err.message);
    return false;
  }
  await store.refresh('blocked', 'conversations', 'requests').catch(() => {});
  return true;
}

/** menuButton is a conversation's "Conversation options" menu. */
export function menuButton(chat) {
  const button = h('button', {
    type: 'button', class: 'tool conv-options', 'aria-label': 'Conversation options', title: 'Conversation options',
    'aria-haspopup': 'menu', 'aria-expanded': 'false',
  }, '⋮');
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (button.getAttribute('aria-expanded') === 'true') { document.body.click(); return; }
    const c = conversationOf(chat) ?? {};
    const items = [
      c.muted
        ? { label: 'Unmute notifications', run: () => setState(chat, { muted: false }) }
        : { label: 'Mute notifications', run: () => setState(chat, { muted: true }) },
      c.archived
        ? { label: 'Unarchive', run: () => setState(chat, { archived: false }) }
        : { label: 'Archive', run: () => setState(chat, { archived: true }) },
      c.pinned_at
        ? { label: 'Unpin', run: () => setState(chat, { pinned: false }) }
        : { label: 'Pin', run: () => setState(chat, { pinned: true }) },
    ];
    if (!chat.isGroup) {
      const blocked = isBlocked(chat.id);
      items.push({
        label: blocked ? 'Unblock' : 'Block',
        run: () => confirmBlock(chat.id, chat.name, !blocked, (msg) => chat.loadError.show(msg)),
      });
    }
    showMenu(button, 'Conversation options', items);
  });
  return button;
}

/** stateWords describes a conversation's state for assistive technology. */
export function stateWords(it) {
  return [it.blocked && 'blocked', it.pinned && 'pinned', it.muted && 'muted'].filter(Boolean);
}

/** marks shows a conversation's state beside its name: pinned, muted, blocked. */
export function marks(it) {
  return stateWords(it).map((w) => h('span', { class: 'conv-mark', title: w[0].toUpperCase() + w.slice(1) }, icon(w)));
}

let showArchived = false;

/**
 * archivedSection lists the archived conversations under a button that
 * shows or hides them; null when there are none.
 */
export function archivedSection(list, item) {
  if (!list.length) return null;
  const unread = list.reduce((n, it) => n + (it.unread || 0), 0);
  const toggle = h('button', {
    // Named outright: the title's uppercase style would change the name
    // Chrome gives it.
    type: 'button', class: 'side-title archived-toggle', 'aria-expanded': String(showArchived),
    'aria-label': `Archived (${list.length})${unread ? `, ${unread} unread` : ''}`,
    'aria-controls': 'archived-list', dataset: { key: 'archived' },
    onclick: () => { showArchived = !showArchived; store.changed(); },
  }, `Archived (${list.length})`, unread ? h('span', { class: 'badge muted-badge' }, String(unread)) : null);
  return h('section', { class: 'side-section', 'aria-label': 'Archived' },
    toggle,
    showArchived ? h('ul', { class: 'conv-list', id: 'archived-list' }, list.map(item)) : null);
}

/** blockedSection is Settings' list of blocked peers, each with Unblock. */
export function blockedSection() {
  const list = h('ul', { class: 'cards' });
  const box = errorBox();
  const load = async () => {
    try {
      await store.refresh('blocked');
    } catch (err) {
      box.show(`Could not read the blocked list: ${err.message}`);
      return;
    }
    const bs = store.state.blocked;
    if (!bs.length) {
      replace(list, h('li', { class: 'muted' }, 'Nobody is blocked.'));
      return;
    }
    replace(list, bs.map((b) => {
      const name = b.name || shortID(b.peer_id);
      return h('li', { class: 'row' },
        h('span', { dir: 'auto' }, name),
        h('span', { class: 'muted' }, b.request ? 'not a contact' : 'contact'),
        h('button', {
          type: 'button', class: 'secondary', 'aria-label': `Unblock ${name}`,
          onclick: async () => { if (await confirmBlock(b.peer_id, name, false, (msg) => box.show(msg))) load(); },
        }, 'Unblock'));
    }));
  };
  load();
  return h('section', { 'aria-labelledby': 'set-blocked' }, h('h3', { id: 'set-blocked' }, 'Blocked'),
    h('p', { class: 'hint' }, 'People you blocked: what they send is dropped unread, and they are not told.'), list, box);
}
