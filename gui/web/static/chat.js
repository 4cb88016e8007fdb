// A conversation: a DM or a group. History loads as you scroll up; new
// messages arrive live; outgoing ones carry status ticks with text
// alternatives; days are separated; the composer sends on Enter. Files
// are attached with a button or dropped onto the conversation, and show
// as cards that follow their transfer.

import { act, actionsButton, firstLine, mayDeleteForEveryone, quoteEl, reactionsEl } from './actions.js';
import { receiptsEl } from './groupconv.js';
import { api, newClientID } from './api.js';
import { append, bdi, busy, errorBox, h, icon, replace } from './dom.js';
import { FileCard, Uploads } from './files.js';
import { offerButton, offerCard } from './mailboxes.js';
import { compareMessages, dayKey, dayLabel, fullTime, isolated, shortID, statusText, time } from './format.js';
import { keepDraft, lastSeenText, typingRegion, typingSender } from './presence.js';
import { avatar } from './sidebar.js';
import { confirmBlock, isBlocked, menuButton } from './block.js';
import { showFound } from './search.js';
import * as store from './store.js';
import { expiresEl, timerButton, timerEventEl } from './timer.js';

const pageSize = 50;
const maxTextBytes = 32 << 10;
// stored: in one of the recipient's mailboxes, between sent and delivered.
const statusRank = { queued: 0, sent: 1, stored: 1.5, delivered: 2, read: 3, failed: 4 };
const tickIcon = { queued: 'clock', sent: 'check', stored: 'inbox', delivered: 'checks', read: 'checks', failed: 'alert' };
// Our own uploads report no progress events: their cards ask this often.
const pollEvery = 1000;

export function tick(status) {
  const text = statusText[status] ?? status;
  return h('span', { class: `tick ${status}`, role: 'img', 'aria-label': text, title: text },
    icon(tickIcon[status] ?? 'clock'));
}

/** Chat is the screen of one conversation. kind: "dm" (id: peer ID) or "group". */
/** senderName is a group message's author as shown: the contact's name as it is now, else the name the message came with. */
function senderName(m) {
  return store.contact(m.from)?.name || m.from_name || shortID(m.from);
}

export class Chat {
  constructor(main, kind, id) {
    this.main = main;
    this.kind = kind;
    this.id = id;
    this.msgs = []; // loaded messages, in display order
    this.hasOlder = false;
    this.loadingOlder = false;
    this.unseen = 0; // messages arrived while scrolled up
    this.readTimer = 0;
    this.needsRead = false;
    this.onVisible = () => { if (document.visibilityState === 'visible' && this.needsRead) this.markRead(); };
    document.addEventListener('visibilitychange', this.onVisible);
    this.cards = new Map(); // file ID → FileCard shown here
    this.uploads = new Uploads(id);
    this.pollTimer = setInterval(() => this.pollFiles(), pollEvery);
    this.build();
    this.load();
  }

  destroy() {
    this.typing.destroy();
    this.typingOut?.destroy();
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.readTimer);
    clearInterval(this.pollTimer);
    this.dead = true;
  }

  get isGroup() { return this.kind === 'group'; }
  get group() { return store.group(this.id); }
  get isRequest() { return !this.isGroup && !!store.request(this.id); }

  get name() {
    if (this.isGroup) return this.group?.name || store.conversationForGroup(this.id)?.name || 'Group';
    return store.nameOf(this.id) || shortID(this.id);
  }

  /** canWrite: a joined group, or a DM with a contact (not a request). */
  get canWrite() {
    if (this.isGroup) return this.group?.state === 'joined';
    return !!store.contact(this.id) && !isBlocked(this.id);
  }

  build() {
    this.header = h('header', { class: 'pane-head' });
    this.banner = h('div', { class: 'chat-banner' });
    this.top = h('li', { class: 'older' });
    this.list = h('ol', { class: 'messages', 'aria-label': 'Messages' }, this.top);
    this.scroller = h('div', { class: 'scroller', tabindex: '0', 'aria-label': 'Conversation history' }, this.list);
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.jump = h('button', { type: 'button', class: 'jump', hidden: true, onclick: () => this.scrollToEnd() },
      icon('down'), h('span', null, 'New messages'));
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this.loadError = errorBox();
    this.footer = h('div', { class: 'chat-foot' });
    this.dropZone = h('div', { class: 'drop-zone', hidden: true, 'aria-hidden': 'true' }, icon('attach'), h('span'));
    this.typing = typingRegion(this.kind, this.id);
    const section = h('section', { class: 'chat', 'aria-label': `Conversation with ${this.name}` },
      this.header, this.banner, this.loadError, h('div', { class: 'history' }, this.scroller, this.jump, this.dropZone),
      this.typing.el, this.footer, this.live);
    replace(this.main, section);
    this.listenForDrops(section);
    this.renderHeader();
    this.renderFooter();
  }

  /** listenForDrops sends files dropped onto the conversation. */
  listenForDrops(section) {
    const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
    let depth = 0; // dragenter and dragleave fire for every child crossed
    section.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !this.canWrite) return;
      e.preventDefault();
      depth += 1;
      this.dropZone.lastChild.textContent = `Drop to send to ${isolated(this.name)}`;
      this.dropZone.hidden = false;
    });
    section.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || !this.canWrite) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    section.addEventListener('dragleave', (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) this.dropZone.hidden = true;
    });
    section.addEventListener('drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      this.dropZone.hidden = true;
      if (this.canWrite && e.dataTransfer.files.length) this.uploads.add([...e.dataTransfer.files]);
    });
  }

  renderHeader() {
    const g = this.group;
    const online = !this.isGroup && store.isOnline(this.id);
    let sub;
    if (this.isGroup) {
      sub = g ? `${g.members} member${g.members === 1 ? '' : 's'}` : '';
      if (g?.state === 'left') sub += ' · you left';
      if (g?.state === 'removed') sub += ' · you were removed';
    } else {
      sub = this.isRequest ? 'Not in your contacts' : online ? 'online' : lastSeenText(this.id) || 'offline';
    }
    const details = this.isGroup
      ? h('a', { class: 'tool', href: `#/group/${this.id}/members`, 'aria-label': 'Members and settings', title: 'Members and settings' }, icon('group'))
      : h('a', { class: 'tool', href: `#/contact/${encodeURIComponent(this.id)}`, 'aria-label': 'Contact details', title: 'Contact details' }, icon('info'));
    // A contact may get an offer to hold their mail, when this node holds
    // mail for others. The button is made once per view: the header is
    // drawn again on every presence change, and a new button would start
    // hidden until the settings answer, so a click could land on neither.
    const offer = !this.isGroup && this.canWrite
      ? (this.offer ??= offerButton(this.id, this.name, (m) => this.add(m, true)))
      : null;
    const timer = this.canWrite ? (this.timer ??= timerButton(this)) : null; // made once, like offer
    replace(this.header,
      h('a', { class: 'back tool', href: '#/', 'aria-label': 'Back to conversations', title: 'Back' }, icon('back')),
      avatar(this.name, { group: this.isGroup, online: this.isGroup || this.isRequest ? null : online }),
      h('div', { class: 'pane-title' },
        h('h2', { dir: 'auto', class: 'chat-name' }, this.name),
        h('p', { class: `sub${online ? ' online' : ''}` }, sub)),
      offer,
      this.isRequest ? null : (this.options ??= menuButton(this)),
      timer,
      details);
    this.main.querySelector('.chat')?.setAttribute('aria-label', `Conversation with ${this.name}`);
  }

  renderFooter() {
    replace(this.banner);
    if (this.isRequest) {
      const box = errorBox();
      const form = h('form', { class: 'request-banner' },
        h('p', null, bdi(this.name), ` is not in your contacts. Accept their request to reply, or block them.`),
        h('button', { type: 'submit', class: 'primary' }, 'Accept'),
        h('button', {
          type: 'button', class: 'danger',
          onclick: async () => { if (await confirmBlock(this.id, this.name, true, (msg) => box.show(msg))) location.hash = '#/'; },
        }, 'Block'), box);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const r = await busy(form, box, () => api.accept(this.id));
        if (r.ok) await store.refresh('contacts', 'requests', 'conversations').catch(() => {});
      });
      this.banner.append(form);
    }
    if (this.canWrite) {
      if (!this.composer) this.composer = this.buildComposer();
      if (this.composer.parentNode !== this.footer) replace(this.footer, this.uploads.el, this.composer);
      return;
    }
    this.composer = null;
    const g = this.group;
    let why = 'You cannot write here.';
    if (this.isRequest) why = 'Accept the request to reply.';
    else if (!this.isGroup && isBlocked(this.id)) why = 'You blocked this contact: you get nothing from them, and they nothing from you. Unblock them (Conversation options) to write.';
    else if (this.isGroup && g?.state === 'left') why = 'You left this group. Its history stays here.';
    else if (this.isGroup && g?.state === 'removed') why = 'You were removed from this group: you see nothing sent after.';
    else if (!this.isGroup && !store.contact(this.id)) why = 'This is not one of your contacts.';
    replace(this.footer, h('p', { class: 'notice' }, why));
  }

  buildComposer() {
    const ta = h('textarea', {
      id: 'composer', rows: '1', placeholder: 'Write a message', enterkeyhint: 'send', autocomplete: 'off',
    });
    const box = errorBox();
    // The file input stays hidden; the button opens its picker.
    const picker = h('input', { type: 'file', multiple: true, hidden: true, class: 'attach-input', tabindex: '-1' });
    picker.addEventListener('change', () => {
      if (picker.files.length) this.uploads.add([...picker.files]);
      picker.value = '';
    });
    const attach = h('button', { type: 'button', class: 'attach tool', 'aria-label': 'Attach file', title: 'Attach file' }, icon('attach'));
    attach.addEventListener('click', () => picker.click());
    this.modeBar = h('div', { class: 'compose-mode', hidden: true });
    this.ta = ta;
    const form = h('form', { class: 'composer' },
      this.modeBar,
      attach, picker,
      h('label', { for: 'composer', class: 'sr-only' }, 'Message'),
      ta,
      h('button', { type: 'submit', class: 'send primary' }, icon('send'), h('span', { class: 'send-label' }, 'Send')),
      box);
    const grow = () => {
      ta.style.height = 'auto';
      ta.style.height = `${Math.min(ta.scrollHeight, 160)}px`;
    };
    ta.addEventListener('input', grow);
    // The "too long" warning is about the text in the composer: it goes
    // once that text fits (or is gone).
    let tooLong = false;
    ta.addEventListener('input', () => {
      if (tooLong && new TextEncoder().encode(ta.value).length <= maxTextBytes) {
        tooLong = false;
        box.show('');
      }
    });
    // The draft first: restoring it is no keystroke, and says no "typing".
    this.draft = keepDraft(`${this.kind}:${this.id}`, ta);
    this.typingOut?.destroy();
    this.typingOut = typingSender(this.id, ta);
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    let unsent = null; // { text, clientID } of the last send that failed
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = ta.value;
      if (!text.trim()) return;
      const bytes = new TextEncoder().encode(text).length;
      if (bytes > maxTextBytes) {
        box.show(`This message is too long to send (${Math.ceil(bytes / 1024)} KB; the limit is 32 KB). Split it up.`);
        tooLong = true;
        return;
      }
      // A send whose answer was lost may still have reached the node:
      // sending the same text again reuses its client ID, so the node
      // keeps one message, not two.
      if (this.mode) {
        const { kind, msg } = this.mode;
        const r = await busy(form, box, () => act(this, msg, kind, { text }));
        if (!r.ok) {
          ta.focus();
          return;
        }
        ta.value = '';
        this.draft.cleared();
        this.typingOut.sent();
        grow();
        this.cancelMode();
        if (kind === 'reply') this.add(r.value, true);
        else this.replaceMessage(r.value);
        return;
      }
      if (unsent?.text !== text) unsent = { text, clientID: newClientID() };
      const { clientID } = unsent;
      const r = await busy(form, box, () => (this.isGroup
        ? api.groupSend(this.id, text, clientID)
        : api.send(this.id, text, clientID)));
      if (!r.ok) {
        box.show(`Not sent: ${box.textContent}`);
        ta.focus();
        return;
      }
      unsent = null;
      ta.value = '';
      this.draft.cleared();
      this.typingOut.sent();
      grow();
      ta.focus();
      this.add(r.value, true);
      store.refreshSoon('conversations');
    });
    return form;
  }

  fetch(opts) {
    return this.isGroup ? api.groupMessages(this.id, opts) : api.messages(this.id, opts);
  }

  visible() { return document.visibilityState === 'visible'; }

  async load() {
    const unread = this.isGroup ? store.conversationForGroup(this.id)?.unread : store.conversationForPeer(this.id)?.unread;
    // Everything unread must be on the first page: viewing marks the page read.
    const limit = Math.max(pageSize, (unread ?? 0) + 10);
    const read = this.visible();
    // Messages that arrive live while the page is fetched may be newer than
    // the page the node answers with: they are kept, not overwritten. So are
    // the changes to messages (an edit, a receipt, a status, an expiry):
    // the node may have read the page before making them, so they are
    // applied again over it, in the order they came.
    const arrived = [];
    const changes = [];
    this.arrived = arrived;
    this.changes = changes;
    let msgs;
    try {
      msgs = await this.fetch({ limit, read });
    } catch (err) {
      if (!this.dead) this.loadError.show(`Could not load the messages: ${err.message}`);
      return;
    } finally {
      if (this.arrived === arrived) this.arrived = null;
      if (this.changes === changes) this.changes = null;
    }
    if (this.dead) return;
    this.loadError.show('');
    this.needsRead = !read;
    const fetched = new Set(msgs.map((m) => m.id));
    this.msgs = msgs.concat(arrived.filter((m) => !fetched.has(m.id))).sort(compareMessages);
    this.hasOlder = msgs.length >= limit;
    this.renderAll();
    for (const change of changes) change();
    this.scrollToEnd();
    showFound(this); // search.js: a result chosen there opens here
    if (read && unread) store.refreshSoon('conversations');
  }

  /** reload catches up after the connection to the node came back. */
  reload() {
    return this.load();
  }

  renderTop() {
    if (this.loadingOlder) {
      replace(this.top, h('span', { class: 'muted' }, 'Loading older messages…'));
    } else if (this.hasOlder) {
      replace(this.top, h('button', { type: 'button', class: 'link', onclick: () => this.loadOlder() }, 'Load older messages'));
    } else {
      replace(this.top, h('span', { class: 'muted' },
        !this.msgs.length ? 'No messages yet. Say hello!'
          : this.isGroup ? 'This is the start of the group.'
            : ['This is the start of your conversation with ', bdi(this.name), '.']));
    }
  }

  /** items renders msgs with day separators; prev is the message just above them. */
  items(msgs, prev) {
    const out = [];
    let key = prev ? dayKey(new Date(prev.sent_at)) : null;
    for (const m of msgs) {
      const d = new Date(m.sent_at);
      const k = dayKey(d);
      if (k !== key) {
        out.push(h('li', { class: 'day', dataset: { day: k } }, h('span', null, dayLabel(d))));
        key = k;
        prev = null;
      }
      out.push(this.messageEl(m, prev));
      prev = m;
    }
    return out;
  }

  messageEl(m, prev) {
    if (m.kind === 'timer') return timerEventEl(m);
    const d = new Date(m.sent_at);
    // A message right after another from the same person sits closer and
    // does not repeat the sender's name.
    const cont = prev && prev.from === m.from && d - new Date(prev.sent_at) < 5 * 60 * 1000;
    const sender = this.isGroup && !m.outgoing && !cont
      ? h('span', { class: 'sender', dir: 'auto', dataset: { from: m.from } }, senderName(m)) : null;
    let body;
    if (m.kind === 'file' && m.file_id) {
      const card = new FileCard(m, { onResize: () => this.keepEnd() });
      this.cards.set(m.file_id, card);
      body = card.el;
    } else if (m.kind === 'mailbox-offer') {
      body = offerCard(m, this.name, () => this.keepEnd());
    } else {
      body = h('p', { class: 'text', dir: 'auto' }, m.text);
    }
    if (m.deleted) body = h('p', { class: 'text deleted' }, 'This message was deleted');
    const kindClass = { file: ' file', 'mailbox-offer': ' offer' }[m.kind] ?? '';
    return h('li', { class: `msg ${m.outgoing ? 'out' : 'in'}${cont ? ' cont' : ''}${kindClass}`, dataset: { id: m.id } },
      h('div', { class: 'bubble' },
        sender,
        quoteEl(m, this),
        body,
        h('span', { class: 'meta' },
          m.edited && !m.deleted ? h('span', { class: 'edited' }, 'edited') : null,
          expiresEl(m),
          h('time', { datetime: m.sent_at, title: fullTime(d) }, time(d)),
          m.outgoing ? tick(m.status) : null,
          receiptsEl(m, this)),
        reactionsEl(m, this)),
      actionsButton(m, this));
  }

  // Replies, edits, deletes and reactions (actions.js).

  /** setMode puts the composer in reply or edit mode for message msg. */
  setMode(kind, msg) {
    if (!this.composer) return;
    this.mode = { kind, msg };
    const what = kind === 'edit' ? 'Editing your message'
      : `Replying to ${msg.outgoing ? 'yourself' : (this.isGroup ? senderName(msg) : this.name)}: ${firstLine(msg.text)}`;
    replace(this.modeBar, h('span', { class: 'mode-text', dir: 'auto' }, what),
      h('button', { type: 'button', class: 'link', onclick: () => this.cancelMode() }, kind === 'edit' ? 'Cancel edit' : 'Cancel reply'));
    this.modeBar.hidden = false;
    if (kind === 'edit') this.ta.value = msg.text;
    this.ta.focus();
  }

  startReply(m) { this.setMode('reply', m); }

  startEdit(m) { this.setMode('edit', m); }

  cancelMode() {
    if (this.mode?.kind === 'edit' && this.ta) this.ta.value = '';
    this.mode = null;
    if (this.modeBar) {
      this.modeBar.hidden = true;
      replace(this.modeBar);
    }
  }

  async react(m, emoji, remove) {
    try {
      this.replaceMessage(await act(this, m, 'react', { emoji, remove }));
    } catch (err) {
      this.loadError.show(`Could not react: ${err.message}`);
    }
  }

  /** confirmDelete asks how to delete m: here only, or for everyone. */
  confirmDelete(m) {
    const box = errorBox();
    const dialog = h('dialog', { class: 'confirm', 'aria-label': 'Delete message' });
    const choose = async (forEveryone) => {
      try {
        const v = await act(this, m, 'delete', { for_everyone: forEveryone });
        dialog.close();
        if (forEveryone) this.replaceMessage(v);
        else this.removeMessage(m.id);
      } catch (err) {
        box.show(err.message);
      }
    };
    append(dialog, [
      h('p', null, 'Delete this message?'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => choose(false) }, 'Delete for me'),
        mayDeleteForEveryone(m, this) ? h('button', { type: 'button', class: 'danger', onclick: () => choose(true) }, 'Delete for everyone') : null,
        h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
      box]);
    dialog.addEventListener('close', () => dialog.remove());
    this.main.append(dialog);
    dialog.showModal();
  }

  /** goTo shows the message id, if it is loaded. */
  goTo(id) {
    const li = this.list.querySelector(`li[data-id="${id}"]`);
    if (!li) return;
    li.scrollIntoView({ block: 'center' });
    li.setAttribute('tabindex', '-1');
    li.focus();
  }

  /** replaceMessage shows a message's new view (edited, deleted, reacted to). */
  replaceMessage(v) {
    const i = this.msgs.findIndex((x) => x.id === v.id);
    if (i < 0) return;
    this.msgs[i] = v;
    this.list.querySelector(`li[data-id="${v.id}"]`)?.replaceWith(this.messageEl(v, this.msgs[i - 1]));
    // Replies shown here quote it as it is now.
    this.msgs.forEach((r, j) => {
      if (r.reply_to !== v.id || !r.quote || r.quote.missing) return;
      r.quote = { ...r.quote, text: v.deleted ? '' : firstLine(v.text), deleted: !!v.deleted };
      this.list.querySelector(`li[data-id="${r.id}"]`)?.replaceWith(this.messageEl(r, this.msgs[j - 1]));
    });
  }

  removeMessage(id) {
    const i = this.msgs.findIndex((x) => x.id === id);
    if (i < 0) return;
    this.msgs.splice(i, 1);
    this.list.querySelector(`li[data-id="${id}"]`)?.remove();
  }

  /** change applies a change to a shown message now, and again once a page being fetched is in. */
  change(m, apply) {
    if (!this.matches(m)) return;
    this.changes?.push(apply);
    apply();
  }

  onUpdate(m) { this.change(m, () => this.replaceMessage(m)); }

  /** onExpired takes away a disappearing message that expired. */
  onExpired(m) { this.change(m, () => this.removeMessage(m.id)); }

  renderAll() {
    const fromEnd = this.scroller.scrollHeight - this.scroller.scrollTop;
    replace(this.list, this.top, this.items(this.msgs));
    this.renderTop();
    this.scroller.scrollTop = this.scroller.scrollHeight - fromEnd;
  }

  atEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }

  /** keepEnd stays at the end, where the reader was, when a card grew (a preview loaded). */
  keepEnd() {
    if (this.stuck) this.scrollToEnd();
  }

  scrollToEnd() {
    this.stuck = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.unseen = 0;
    this.jump.hidden = true;
  }

  onScroll() {
    this.stuck = this.atEnd();
    if (this.stuck) {
      this.unseen = 0;
      this.jump.hidden = true;
    }
    if (this.scroller.scrollTop < 300 && this.hasOlder && !this.loadingOlder) this.loadOlder();
  }

  async loadOlder() {
    if (!this.msgs.length || this.loadingOlder) return;
    this.loadingOlder = true;
    this.renderTop();
    let older;
    try {
      older = await this.fetch({ limit: pageSize, before: this.msgs[0].id });
    } catch (err) {
      this.loadingOlder = false;
      this.renderTop();
      this.loadError.show(`Could not load older messages: ${err.message}`);
      return;
    }
    if (this.dead) return;
    this.loadingOlder = false;
    this.hasOlder = older.length >= pageSize;
    const known = new Set(this.msgs.map((m) => m.id));
    older = older.filter((m) => !known.has(m.id));
    // Keep what the reader sees where it is: measure, insert, restore.
    const s = this.scroller;
    const before = s.scrollHeight - s.scrollTop;
    if (older.length) {
      const firstSep = this.top.nextElementSibling;
      const els = this.items(older, null);
      if (firstSep?.classList.contains('day') && firstSep.dataset.day === dayKey(new Date(older.at(-1).sent_at))) {
        firstSep.remove(); // the same day continues: one separator
        // The formerly first message may now continue the last older one.
        const was = this.msgs[0];
        this.list.querySelector(`li[data-id="${was.id}"]`)?.replaceWith(this.messageEl(was, older.at(-1)));
      }
      this.top.after(...els);
      this.msgs = older.concat(this.msgs);
    }
    this.renderTop();
    s.scrollTop = s.scrollHeight - before;
  }

  /** matches tells whether a message (from an event) belongs here. */
  matches(m) {
    if (this.isGroup) return m.conversation === this.id && !m.to;
    if (!m.to) return false;
    return m.outgoing ? m.to === this.id : m.from === this.id;
  }

  /** add puts a message in place: at the end, or where its clock says. */
  add(m, own = false) {
    this.arrived?.push(m);
    const i = this.msgs.findIndex((x) => x.id === m.id);
    if (i >= 0) {
      this.setStatus(m);
      return;
    }
    const wasAtEnd = this.atEnd();
    const last = this.msgs.at(-1);
    if (!last || compareMessages(last, m) < 0) {
      this.msgs.push(m);
      this.list.append(...this.items([m], last));
      this.renderTop();
    } else {
      this.msgs.push(m);
      this.msgs.sort(compareMessages);
      this.renderAll();
    }
    if (own || wasAtEnd) {
      this.scrollToEnd();
    } else {
      this.unseen += 1;
      this.jump.hidden = false;
    }
    if (!m.outgoing) {
      const who = this.isGroup ? (store.contact(m.from)?.name || m.from_name || 'Someone') : this.name;
      this.live.textContent = m.kind === 'file' ? `${who} sent a file: ${m.text}`
        : m.kind === 'mailbox-offer' ? `${who} offers to hold your mail while you are offline` : `${who}: ${m.text}`;
      this.scheduleRead();
    }
  }

  setStatus(m) {
    const cur = this.msgs.find((x) => x.id === m.id);
    if (!cur || statusRank[m.status] <= statusRank[cur.status]) return;
    cur.status = m.status;
    const el = this.list.querySelector(`li[data-id="${m.id}"] .tick`);
    el?.replaceWith(tick(m.status));
  }

  scheduleRead() {
    this.needsRead = true;
    if (!this.visible()) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.markRead(), 200);
  }

  async markRead() {
    this.needsRead = false;
    try {
      await this.fetch({ limit: pageSize, read: true });
      store.refreshSoon('conversations');
    } catch {
      this.needsRead = true;
    }
  }

  // Events and state changes, from the app.

  onMessage(m) {
    if (!this.matches(m)) return;
    this.add(m);
    if (m.kind === 'timer') this.timer?.refresh();
  }

  onStatus(m) { this.change(m, () => this.setStatus(m)); }

  onFile(f) { this.cards.get(f.id)?.update(f); }

  /** pollFiles asks how our uploads shown here are going: they send no progress events. */
  async pollFiles() {
    if (this.dead || !this.visible()) return;
    for (const card of this.cards.values()) {
      const f = card.file;
      if (!f?.outgoing || f.state !== 'transferring' || !card.el.isConnected) continue;
      try {
        card.update(store.setFile(await api.file(f.id)));
      } catch { /* the connection banner tells */ }
    }
  }

  onState() {
    if (this.isGroup) this.renameSenders();
    const sig = JSON.stringify([this.name, store.groupShape(this.id), this.isRequest, this.canWrite, !this.isGroup && store.isOnline(this.id),
      !this.isGroup && lastSeenText(this.id), !this.isGroup && isBlocked(this.id)]);
    if (sig === this.stateSig) return;
    this.stateSig = sig;
    this.renderHeader();
    this.renderFooter();
  }

  /** renameSenders shows a contact who changed their name under the new one in messages already shown. */
  renameSenders() {
    for (const el of this.main.querySelectorAll('.msg .sender[data-from]')) {
      const name = store.contact(el.dataset.from)?.name;
      if (name && el.textContent !== name) el.textContent = name;
    }
  }
}
