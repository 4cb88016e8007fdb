// Group receipts and message info: "Read by 2 of 3" under our group
// messages, the "Message info" dialog (when a message was delivered and
// read, by whom, or why not yet), and the "Send read receipts" setting.

import { api } from './api.js';
import { errorBox, h, switchForm, uid } from './dom.js';
import { fullTime, statusText } from './format.js';
import * as store from './store.js';

/** receiptsEl says how many members got and read one of our group messages. */
export function receiptsEl(m, chat) {
  if (!chat.isGroup || !m.outgoing || m.deleted) return null;
  const rs = Object.values(m.receipts ?? {});
  const members = Math.max((chat.group?.members ?? 0) - 1, rs.length);
  if (!members) return null;
  const read = rs.filter((r) => r.read_at).length;
  const got = rs.filter((r) => r.delivered_at).length;
  const text = read ? `Read by ${read} of ${members}` : `Delivered to ${got} of ${members}`;
  return h('span', { class: 'receipts', title: text }, text);
}

const pathText = { direct: 'directly', relay: 'through a relay', mailbox: 'to a mailbox', gossip: 'through the group' };

function when(t) { return t ? fullTime(new Date(t)) : '—'; }

function recipientName(r) {
  if (r.peer_id === store.state.self?.peer_id) return 'You';
  return store.contact(r.peer_id)?.name || r.name || r.peer_id;
}

function recipientEl(r) {
  const facts = [
    h('dt', null, 'Delivered'), h('dd', null, when(r.delivered_at)),
    h('dt', null, 'Read'), h('dd', null, when(r.read_at)),
  ];
  const p = r.pending;
  if (p) {
    facts.push(h('dt', null, 'Online'), h('dd', null, p.online ? 'yes'
      : `no${p.offline_since ? `, unreachable since ${when(p.offline_since)}` : ''}`));
    if (p.last_attempt) facts.push(h('dt', null, 'Last attempt'), h('dd', null, `${when(p.last_attempt)}, ${pathText[p.path] ?? p.path}`));
    else if (p.path) facts.push(h('dt', null, 'Path'), h('dd', null, pathText[p.path] ?? p.path));
    if (p.next_retry) facts.push(h('dt', null, 'Next retry'), h('dd', null, when(p.next_retry)));
    if (p.last_error) facts.push(h('dt', null, 'Last error'), h('dd', null, p.last_error));
    if (p.mailbox) facts.push(h('dt', null, 'Mailbox'), h('dd', null, 'a mailbox of theirs holds it'));
  }
  return h('li', null, h('h3', { dir: 'auto' }, recipientName(r)), h('dl', { class: 'facts' }, facts));
}

/**
 * editHistory lists an edited message's versions, the original first, as
 * every member keeps them; null when it was never edited.
 */
function editHistory(msg) {
  if (!msg.edited || !msg.edits?.length) return null;
  const titleID = uid('h');
  return h('section', { class: 'edit-history', 'aria-labelledby': titleID },
    h('h3', { id: titleID }, 'Edit history'),
    h('ol', { 'aria-labelledby': titleID }, msg.edits.map((e) => h('li', null,
      h('p', { class: 'text', dir: 'auto' }, e.text), h('time', { datetime: e.sent_at }, when(e.sent_at))))));
}

/** showMessageInfo opens the "Message info" dialog for message m. */
export async function showMessageInfo(m, chat) {
  const titleID = uid('dlg');
  const box = errorBox();
  const body = h('div', { 'aria-live': 'polite' }, h('p', null, 'Loading…'));
  const dlg = h('dialog', { class: 'dialog info', 'aria-labelledby': titleID },
    h('form', { method: 'dialog' },
      h('h2', { id: titleID }, 'Message info'),
      body, box,
      h('div', { class: 'row end' }, h('button', { value: 'close', class: 'secondary' }, 'Close'))));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  try {
    const info = await api.messageInfo(chat.id, m.id);
    const msg = info.message;
    const facts = [
      h('dt', null, 'Sent'), h('dd', null, when(msg.sent_at)),
      h('dt', null, 'Status'), h('dd', null, statusText[msg.status] ?? msg.status),
    ];
    if (msg.reason) facts.push(h('dt', null, 'Waiting'), h('dd', null, msg.reason));
    if (info.group) {
      const n = info.recipients.length;
      facts.push(h('dt', null, 'Read'), h('dd', null, `by ${info.read} of ${n}`),
        h('dt', null, 'Delivered'), h('dd', null, `to ${info.delivered} of ${n}`));
    }
    body.replaceChildren(h('dl', { class: 'facts' }, facts),
      h('ul', { class: 'recipients', 'aria-label': 'Recipients' }, info.recipients.map(recipientEl)),
      editHistory(msg));
  } catch (err) {
    body.replaceChildren();
    box.show(`Could not load the message's info: ${err.message}`);
  }
}

/**
 * section is the "Send read receipts" setting: applied and kept as soon as
 * the box changes. loaded: the settings, a promise.
 */
export function section(loaded) {
  const form = switchForm('Send read receipts',
    'Contacts and group members see when you read their messages. Off, they see only that your node got them; you still see the receipts others send.',
    () => loaded.then((s) => s.read_receipts),
    async (on) => (await api.setReadReceipts(on)).read_receipts, null);
  return h('section', { 'aria-labelledby': 'set-receipts' }, h('h3', { id: 'set-receipts' }, 'Privacy'), form);
}
