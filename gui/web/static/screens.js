// The app's screens other than a conversation: first run, invite, adding
// a contact, requests, contact details, group invitations and members, a
// new group, the network panel and settings.

import { api } from './api.js';
import { bdi, busy, errorBox, field, h, icon, replace, uid } from './dom.js';
import { isolated, reachabilityText, shortID } from './format.js';
import * as devices from './devices.js';
import * as mailboxes from './mailboxes.js';
import * as groupconv from './groupconv.js';
import * as passphrase from './passphrase.js';
import * as presence from './presence.js';
import * as backup from './backup.js';
import { safetyScanner } from './scan.js';
import { avatar } from './sidebar.js';
import { blockedSection, confirmBlock } from './block.js';
import * as store from './store.js';
import { state } from './store.js';

/** pane is a screen's frame: a heading with a back link for phones. */
function pane(title, { back = '#/', backLabel = 'Back to conversations', wide = false } = {}, ...body) {
  // Back to the list shows on a phone only (the list is beside the pane
  // on a desktop); back to a conversation shows everywhere.
  return h('section', { class: `pane${wide ? ' wide' : ''}`, 'aria-labelledby': 'pane-title' },
    h('header', { class: 'pane-head' },
      h('a', { class: `back tool${back === '#/' ? '' : ' always'}`, href: back, 'aria-label': backLabel, title: 'Back' }, icon('back')),
      h('div', { class: 'pane-title' }, h('h2', { id: 'pane-title', dir: 'auto' }, title))),
    h('div', { class: 'pane-body' }, body));
}

/** copyButton copies the text source() gives and says so. */
function copyButton(label, source) {
  const status = h('span', { class: 'copied', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary' }, icon('copy'), h('span', null, label));
  button.addEventListener('click', async () => {
    const text = source();
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      // No clipboard permission: fall back to the selection.
      const ta = h('textarea', { class: 'offscreen', readOnly: true, 'aria-hidden': 'true' });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      ta.remove();
    }
    status.textContent = ok ? 'Copied' : 'Could not copy: select the text and copy it yourself.';
    setTimeout(() => { status.textContent = ''; }, 4000);
  });
  return h('span', { class: 'copy-row' }, button, status);
}

function safetyNumber(sn) {
  if (!sn) return h('p', { class: 'muted' }, 'No safety number yet: Parley does not have this contact\'s key.');
  return h('p', { class: 'safety', 'aria-label': `Safety number ${sn}` }, sn);
}

/**
 * verification is a contact's "Mark as verified" button, or their verified
 * state with Undo, and the warning when their keys changed since the user
 * verified them. Only an accepted contact with a key can be verified.
 */
function verification(c, scanner) {
  if (c.state !== 'accepted' || !c.safety_number) return null;
  const box = errorBox();
  const set = async (form, verified) => {
    const r = await busy(form, box, () => api.setVerified(c.peer_id, verified));
    if (r.ok) await store.refresh('contacts').catch(() => {});
  };
  const form = h('form', { class: 'row verification' });
  if (c.verified) {
    form.append(h('p', { class: 'verified', role: 'status' }, 'Verified ✓'),
      h('button', { type: 'submit', class: 'secondary' }, 'Undo'));
  } else {
    form.append(h('button', { type: 'submit', class: 'primary' }, 'Mark as verified'));
  }
  form.append(box);
  form.addEventListener('submit', (e) => { e.preventDefault(); set(form, !c.verified); });
  return h('div', { class: 'stack' },
    c.keys_changed ? h('p', { class: 'warning', role: 'alert' },
      bdi(c.name), "'s keys changed: compare safety numbers again before trusting them.") : null,
    form,
    c.verified ? null : h('p', { class: 'hint' }, 'Or scan the QR code their Parley shows for you: matching codes mark them verified.'),
    scanner.el);
}

/** safetyQR is the safety number as a QR code, to show beside the number. */
function safetyQR(c) {
  if (c.state !== 'accepted' || !c.safety_number) return null;
  return h('figure', { class: 'qr' },
    h('img', { src: `/api/v1/contacts/${encodeURIComponent(c.peer_id)}/safety.svg`, alt: `QR code of the safety number with ${c.name}`, width: '200', height: '200' }),
    h('figcaption', { class: 'hint' }, 'The same number as a QR code.'));
}

// ---------------------------------------------------------------- first run

export function onboarding(main, done) {
  const input = h('input', { type: 'text', name: 'name', autocomplete: 'nickname', required: true, maxlength: '64' });
  const box = errorBox();
  const form = h('form', { class: 'stack' },
    field('Your name', input, 'Your contacts see this name. You can change it later in Settings.'),
    h('button', { type: 'submit', class: 'primary' }, 'Continue'), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) {
      box.show('Please enter a name.');
      return;
    }
    const r = await busy(form, box, () => api.setName(name));
    if (r.ok) {
      state.self = r.value;
      done();
    }
  });
  replace(main, h('section', { class: 'onboarding', 'aria-labelledby': 'welcome-title' },
    h('div', { class: 'card' },
      h('p', { class: 'logo', 'aria-hidden': 'true' }, 'P'),
      h('h1', { id: 'welcome-title' }, 'Welcome to Parley'),
      h('p', null, 'Parley is a messenger without a server: your messages go straight to your contacts, end-to-end encrypted, and stay on this computer.'),
      h('p', null, 'First, choose the name your contacts will see.'),
      form)));
  input.focus();
  return {};
}

// ---------------------------------------------------------------- home

export function home(main) {
  const self = state.self;
  replace(main, h('section', { class: 'home', 'aria-label': 'Start' },
    passphrase.offer(),
    h('div', { class: 'card' },
      h('h2', null, 'Hello, ', bdi(self?.name ?? '')),
      h('p', null, 'Pick a conversation on the left, or:'),
      h('ul', { class: 'actions' },
        h('li', null, h('a', { href: '#/add', class: 'button' }, icon('person'), 'Add a contact')),
        h('li', null, h('a', { href: '#/invite', class: 'button' }, icon('qr'), 'Share your invite code')),
        h('li', null, h('a', { href: '#/new-group', class: 'button' }, icon('group'), 'Start a group'))))));
  return {};
}

// ---------------------------------------------------------------- invite

export function invite(main) {
  const self = state.self;
  const code = h('textarea', { id: 'my-invite', class: 'code', readOnly: true, rows: '3', spellcheck: 'false' });
  code.value = self.invite;
  code.addEventListener('focus', () => code.select());
  const long = h('textarea', { class: 'code', readOnly: true, rows: '5', spellcheck: 'false' });
  long.value = self.invite_long;
  long.addEventListener('focus', () => long.select());
  // The image is fetched again after a reset: the query defeats the cache.
  const qr = h('img', { src: '/api/v1/self/qr.svg', alt: 'QR code of your invite code', width: '280', height: '280' });
  const box = errorBox();
  const reset = h('form', { class: 'stack', 'aria-label': 'Make a new invite code' },
    h('p', { class: 'hint' }, 'Gave the code to someone you should not have? A new code stops the old one from adding you (people who already added you stay).'),
    h('button', { type: 'submit', class: 'secondary' }, 'Make a new code'), box);
  reset.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await busy(reset, box, () => api.resetInvite());
    if (!r.ok) return;
    state.self = r.value;
    code.value = r.value.invite;
    qr.src = `/api/v1/self/qr.svg?v=${Date.now()}`;
  });
  replace(main, pane('Your invite code', {},
    h('p', null, 'Anyone with this code can add you and write to you. Give it to people you know: show the QR code, or send the code by email or in another messenger.'),
    h('div', { class: 'invite-grid' },
      h('div', { class: 'stack' },
        field('Your invite code', code),
        copyButton('Copy invite code', () => state.self.invite),
        h('p', { class: 'hint' }, 'They paste it under ', h('a', { href: '#/add' }, 'Add contact'), ' in their Parley, or scan the QR code. Their Parley fetches your contact card from yours, so keep Parley running until they have added you.')),
      h('figure', { class: 'qr' }, qr,
        h('figcaption', { class: 'hint' }, 'The same code as a QR code.'))),
    h('details', { class: 'long-invite' },
      h('summary', null, 'Long code (works while you are offline)'),
      h('div', { class: 'stack' },
        h('p', { class: 'hint' }, 'This code carries your whole contact card: they can add you while your Parley is off, but it is too long for a QR code.'),
        field('Your long invite code', long),
        copyButton('Copy long code', () => state.self.invite_long))),
    reset,
    h('h3', null, 'Your fingerprint'),
    h('p', null, 'Your half of every safety number. When you and a contact compare safety numbers, this part is yours.'),
    h('p', { class: 'safety' }, self.fingerprint)));
  return {};
}

// ---------------------------------------------------------------- add contact

export function addContact(main, linked = '') {
  const code = h('textarea', { name: 'invite', rows: '4', required: true, spellcheck: 'false', autocomplete: 'off' });
  code.value = linked;
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '64' });
  const box = errorBox();
  const result = h('div', { class: 'result', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', 'aria-label': 'Add contact' },
    field('Invite code', code, 'Paste the code your contact gave you. It starts with "parley:". A short code needs their Parley to be reachable: yours fetches their contact card from it, now or, if it is offline, once it is.'),
    field('Name (optional)', name, 'How you want to call them. Empty: the name on their invite.'),
    h('button', { type: 'submit', class: 'primary' }, 'Add contact'), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    replace(result);
    const text = code.value.trim();
    if (!text) {
      box.show('Paste an invite code first.');
      code.focus();
      return;
    }
    const r = await busy(form, box, () => api.addContact(text, name.value.trim()));
    if (!r.ok) return;
    const c = r.value;
    form.reset();
    if (c.state === 'pending') {
      // Their node was not reachable: the node keeps the code and adds
      // them once it is; the sidebar lists it under "Pending contacts".
      replace(result, h('div', { class: 'card' },
        h('h3', { tabindex: '-1' }, bdi(c.name || 'Your contact'), ' is pending'),
        h('p', null, 'Their Parley is not reachable now. Pending: Parley will add them once their node is reachable; you need not keep this page open. If they make a new code meanwhile, ask them for it.')));
      result.querySelector('h3').focus();
      store.refresh('pending').catch(() => {});
      return;
    }
    replace(result, h('div', { class: 'card success' },
      h('h3', { tabindex: '-1' }, bdi(c.name), ' was added'),
      c.warning ? h('p', { class: 'warning', role: 'alert' }, c.warning) : null,
      h('p', null, 'Compare this safety number with ', h('strong', null, bdi(c.name)),
        ', in person or on a call. If you both see the same number, no one can read your messages in between.'),
      safetyNumber(c.safety_number),
      h('p', { class: 'row' },
        h('a', { class: 'button primary', href: `#/chat/${encodeURIComponent(c.peer_id)}` }, 'Write to ', bdi(c.name)))));
    result.querySelector('h3').focus();
    store.refresh('contacts', 'requests', 'conversations').catch(() => {});
  });
  // Browsers hand web+parley: links (the invite code with web+ before it)
  // to the page that registered for them: this one, at #/add/CODE.
  const links = navigator.registerProtocolHandler ? h('p', { class: 'hint' },
    h('button', { type: 'button', class: 'link', id: 'register-links' }, 'Open web+parley: invite links here'),
    ' — after that, clicking an invite link in this browser opens this screen with the code filled in.') : null;
  links?.querySelector('button').addEventListener('click', () => {
    try {
      navigator.registerProtocolHandler('web+parley', `${location.origin}/#/add/%s`);
    } catch (err) {
      box.show(`This browser refused: ${err.message}`);
    }
  });
  replace(main, pane('Add contact', {}, form, result, links));
  code.focus();
  return {};
}

// ---------------------------------------------------------------- requests

export function requests(main) {
  const list = h('ul', { class: 'cards' });
  const render = () => {
    if (!state.requests.length) {
      replace(list, h('li', { class: 'muted' }, 'No message requests.'));
      return;
    }
    replace(list, state.requests.map((c) => {
      const box = errorBox();
      const preview = h('ol', { class: 'preview' });
      api.messages(c.peer_id, { limit: 3 }).then((ms) => {
        replace(preview, ms.map((m) => h('li', { dir: 'auto' }, m.text)));
      }).catch(() => {});
      const form = h('form', { class: 'row' },
        h('button', { type: 'submit', class: 'primary', 'aria-label': `Accept ${c.name || shortID(c.peer_id)}` }, 'Accept'),
        h('button', {
          type: 'button', class: 'danger', 'aria-label': `Block ${c.name || shortID(c.peer_id)}`,
          onclick: () => confirmBlock(c.peer_id, c.name || shortID(c.peer_id), true, (msg) => box.show(msg)),
        }, 'Block'),
        h('a', { href: `#/chat/${encodeURIComponent(c.peer_id)}` }, 'Read all'), box);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const r = await busy(form, box, () => api.accept(c.peer_id));
        if (!r.ok) return;
        await store.refresh('contacts', 'requests', 'conversations').catch(() => {});
        location.hash = `#/chat/${encodeURIComponent(c.peer_id)}`;
      });
      return h('li', { class: 'card' },
        h('div', { class: 'row' }, avatar(c.name), h('div', null, h('h3', { dir: 'auto' }, c.name || 'Unknown'),
          h('p', { class: 'muted mono' }, c.peer_id))),
        preview,
        h('p', null, 'Safety number:'), safetyNumber(c.safety_number),
        form);
    }));
  };
  replace(main, pane('Message requests', {},
    h('p', null, 'People who are not your contacts wrote to you. Their messages wait here until you accept; they do not know whether you read them.'),
    h('p', { class: 'muted' }, 'Block a request to drop it and everything its sender writes next, without telling them.'),
    list));
  render();
  let count = state.requests.length;
  return { onState() { if (state.requests.length !== count) { count = state.requests.length; render(); } } };
}

// ---------------------------------------------------------------- contact details

export function contactDetails(main, peerID) {
  // One scanner for the screen's life: a redraw must not stop the camera.
  const scanner = safetyScanner(peerID, () => (store.contact(peerID) ?? store.request(peerID))?.name ?? 'your contact');
  const render = () => {
    const c = store.contact(peerID) ?? store.request(peerID);
    if (!c) {
      replace(main, pane('Contact', {}, h('p', null, 'This is not one of your contacts.')));
      return;
    }
    const online = store.isOnline(peerID);
    replace(main, pane(c.name, { back: `#/chat/${encodeURIComponent(peerID)}`, backLabel: 'Back to the conversation' },
      h('dl', { class: 'facts' },
        h('dt', null, 'Status'), h('dd', null, online ? 'online' : 'offline'),
        h('dt', null, 'Peer ID'), h('dd', { class: 'mono' }, c.peer_id),
        h('dt', null, 'Added'), h('dd', null, c.added_at ? new Date(c.added_at).toLocaleString() : '—')),
      h('h3', null, 'Safety number'),
      h('p', null, 'Compare this number with ', bdi(c.name), `, in person or on a call. If you both see the same number, no one can read your messages in between.`),
      h('div', { class: 'invite-grid' }, h('div', { class: 'stack' }, safetyNumber(c.safety_number), verification(c, scanner)), safetyQR(c)),
      h('p', null, h('a', { class: 'button primary', href: `#/chat/${encodeURIComponent(peerID)}` }, 'Write a message'))));
  };
  render();
  return {
    onState: store.onChange(() => [store.contact(peerID) ?? store.request(peerID), store.isOnline(peerID)], render),
    destroy: scanner.stop,
  };
}

// ---------------------------------------------------------------- group invitation

export function invitation(main, id) {
  const render = () => {
    const g = state.invites.find((x) => x.id === id);
    if (!g) {
      const joined = state.groups.find((x) => x.id === id);
      if (joined) {
        location.replace(`#/group/${id}`);
        return;
      }
      replace(main, pane('Invitation', {}, h('p', null, 'This invitation is no longer waiting for an answer.')));
      return;
    }
    const box = errorBox();
    const from = g.invited_by_name || shortID(g.invited_by);
    const form = h('form', { class: 'row' },
      h('button', { type: 'submit', class: 'primary', 'aria-label': `Accept invitation to ${g.name}` }, 'Accept'),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Decline invitation to ${g.name}` }, 'Decline'), box);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const r = await busy(form, box, () => api.acceptGroup(id));
      if (!r.ok) return;
      await store.refresh('groups', 'invites', 'conversations').catch(() => {});
      location.hash = `#/group/${id}`;
    });
    form.querySelector('button[type=button]').addEventListener('click', async () => {
      const r = await busy(form, box, () => api.declineGroup(id));
      if (!r.ok) return;
      await store.refresh('groups', 'invites', 'conversations').catch(() => {});
      location.hash = '#/';
    });
    replace(main, pane(`Invitation to ${isolated(g.name)}`, {},
      h('p', null, h('strong', null, bdi(from)), ' invited you to the group “', bdi(g.name), '”.'),
      h('p', null, 'If you accept, the members see your name and can read what you write there; ',
        g.history === 'shared'
          ? 'you can also read what was written before you joined (the group shares its history with new members).'
          : 'you read what is written from now on, not what was written before you joined.'),
      form));
  };
  render();
  return {
    onState: store.onChange(() => [state.invites.find((x) => x.id === id), state.groups.some((x) => x.id === id)], render),
  };
}

// ---------------------------------------------------------------- new group

export function newGroup(main) {
  const input = h('input', { type: 'text', name: 'name', required: true, maxlength: '64', autocomplete: 'off' });
  const box = errorBox();
  const shared = h('input', { type: 'checkbox', name: 'history', id: uid('f') });
  const form = h('form', { class: 'stack' },
    field('Group name', input, 'Every member sees it. Admins can rename the group later.'),
    historyField(shared),
    h('button', { type: 'submit', class: 'primary' }, 'Create group'), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = input.value.trim();
    if (!name) {
      box.show('Give the group a name.');
      return;
    }
    const r = await busy(form, box, () => api.createGroup(name, shared.checked ? 'shared' : 'hidden'));
    if (!r.ok) return;
    await store.refresh('groups', 'conversations').catch(() => {});
    location.hash = `#/group/${r.value.id}/members`;
  });
  replace(main, pane('New group', {},
    h('p', null, 'You start as the group\'s only member and admin; then invite your contacts.'), form));
  input.focus();
  return {};
}

/** historyField is the check box for a group's history setting. */
function historyField(check) {
  const hintID = uid('hint');
  check.setAttribute('aria-describedby', hintID);
  return h('div', null,
    h('div', { class: 'field check' }, check, h('label', { for: check.id }, 'New members can read earlier messages')),
    h('p', { class: 'hint', id: hintID },
      'Off: members read what is written while they are members. On: someone added later also reads what was written before. Members\' apps enforce this; anyone in the group can still pass on what they read.'));
}

// ---------------------------------------------------------------- group members

export function members(main, id) {
  let list = [];
  let loadErr = '';
  const body = h('div', { class: 'pane-body-inner' });
  const load = async () => {
    const before = JSON.stringify([list, loadErr]);
    try {
      list = await api.members(id);
      loadErr = '';
    } catch (err) {
      loadErr = err.message;
    }
    if (JSON.stringify([list, loadErr]) !== before || !main.contains(body)) render();
  };

  const render = () => {
    const g = store.group(id);
    const frame = pane(g?.name ?? 'Group', { back: `#/group/${id}`, backLabel: 'Back to the conversation' }, body);
    if (!main.contains(body)) replace(main, frame);
    if (!g) {
      replace(body, h('p', null, 'You are not in this group.'));
      return;
    }
    main.querySelector('#pane-title').textContent = g.name;
    const admin = g.state === 'joined' && g.role === 'admin';
    const parts = [];
    if (loadErr) parts.push(h('p', { class: 'form-error', role: 'alert' }, `Could not load the members: ${loadErr}`));

    if (admin) {
      // Invite a contact who is not a member yet.
      const inGroup = new Set(list.map((m) => m.peer_id));
      const candidates = state.contacts.filter((c) => !inGroup.has(c.peer_id));
      const select = h('select', { name: 'contact', required: true },
        candidates.length ? null : h('option', { value: '' }, 'No contact left to invite'),
        candidates.map((c) => h('option', { value: c.peer_id, dir: 'auto' }, c.name)));
      const box = errorBox();
      const form = h('form', { class: 'inline-form' },
        field('Contact to invite', select),
        h('button', { type: 'submit', class: 'primary', disabled: !candidates.length }, 'Invite'), box);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (!select.value) return;
        const r = await busy(form, box, () => api.inviteToGroup(id, select.value));
        if (r.ok) await load();
      });
      parts.push(h('section', { 'aria-labelledby': 'invite-title' }, h('h3', { id: 'invite-title' }, 'Invite'), form,
        h('p', { class: 'hint' }, 'They join once they accept. Members need not be each other\'s contacts.')));
    }

    parts.push(h('section', { 'aria-labelledby': 'members-title' },
      h('h3', { id: 'members-title' }, `Members (${list.length})`),
      h('ul', { class: 'members' }, list.map((m) => memberItem(m, admin)))));

    if (admin) {
      const input = h('input', { type: 'text', name: 'name', required: true, maxlength: '64', value: g.name });
      const box = errorBox();
      const form = h('form', { class: 'inline-form' }, field('Group name', input),
        h('button', { type: 'submit', class: 'secondary' }, 'Rename'), box);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const r = await busy(form, box, () => api.renameGroup(id, input.value.trim()));
        if (r.ok) await store.refresh('groups', 'conversations').catch(() => {});
      });
      parts.push(h('section', { 'aria-labelledby': 'rename-title' }, h('h3', { id: 'rename-title' }, 'Rename'), form));

      const shared = h('input', { type: 'checkbox', name: 'history', id: uid('f'), checked: g.history === 'shared' });
      const hbox = errorBox();
      const hform = h('form', { class: 'stack', 'aria-label': 'History' }, historyField(shared), hbox);
      hform.addEventListener('submit', (e) => e.preventDefault());
      shared.addEventListener('change', async () => {
        const want = shared.checked;
        const r = await busy(hform, hbox, () => api.setGroupHistory(id, want ? 'shared' : 'hidden'));
        if (!r.ok) {
          shared.checked = !want;
          return;
        }
        await store.refresh('groups').catch(() => {});
      });
      parts.push(h('section', { 'aria-labelledby': 'history-title' }, h('h3', { id: 'history-title' }, 'History'), hform));
    } else if (g.state === 'joined') {
      parts.push(h('p', { class: 'muted' }, 'Only admins can invite, remove members, rename the group and change its settings.'),
        h('p', { class: 'muted' }, g.history === 'shared'
          ? 'New members can read the earlier messages.'
          : 'New members read what is written from when they join.'));
    }

    if (g.state === 'joined') {
      const box = errorBox();
      const leave = h('button', { type: 'button', class: 'danger' }, 'Leave group');
      leave.addEventListener('click', async () => {
        if (!await confirmDialog(`Leave “${isolated(g.name)}”?`, 'You stop receiving its messages. Its history stays on this computer.', 'Leave group')) return;
        const wrap = leave.parentElement;
        const r = await busy(wrap, box, () => api.leaveGroup(id));
        if (r.ok) await store.refresh('groups', 'conversations').catch(() => {});
      });
      parts.push(h('section', { class: 'danger-zone', 'aria-label': 'Leave' }, h('div', null, leave, box)));
    }
    replace(body, parts);
  };

  const memberItem = (m, admin) => {
    const box = errorBox();
    const name = m.name || shortID(m.peer_id);
    const controls = [];
    if (admin && !m.self) {
      const other = m.role === 'admin' ? 'member' : 'admin';
      const role = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Make ${name} ${other === 'admin' ? 'an admin' : 'a member'}` },
        other === 'admin' ? 'Make admin' : 'Make member');
      role.addEventListener('click', async () => {
        const r = await busy(role.parentElement, box, () => api.setRole(id, m.peer_id, other));
        if (r.ok) await load();
      });
      const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${name}` }, 'Remove');
      remove.addEventListener('click', async () => {
        const g = store.group(id);
        const back = g?.history === 'shared' ? ' If they are added again, they can read what was written meanwhile: the group shares its history with new members.' : '';
        if (!await confirmDialog(`Remove ${isolated(name)}?`, `${isolated(name)} will not read anything sent in the group from now on.${back}`, 'Remove')) return;
        const r = await busy(remove.parentElement, box, () => api.removeMember(id, m.peer_id));
        if (r.ok) {
          await load();
          store.refreshSoon('groups');
        }
      });
      controls.push(role, remove);
    }
    return h('li', { class: 'member' },
      avatar(name, { online: m.online }),
      h('div', { class: 'member-main' },
        h('span', { class: 'member-name' }, bdi(name), m.self ? h('span', { class: 'muted' }, ' (you)') : null),
        h('span', { class: 'muted' }, m.online ? 'online' : 'offline')),
      h('span', { class: `role ${m.role}` }, m.role),
      controls.length ? h('div', { class: 'member-actions' }, controls) : null,
      box);
  };

  render();
  load();
  return {
    onState: store.onChange(() => [store.groupShape(id), state.contacts.map((c) => [c.peer_id, c.name])], render),
    onGroup(g) { if (!g || g.id === id) load(); },
    onPresence() { load(); },
    reload: load,
  };
}

/** confirmDialog asks a yes/no question in a modal dialog. */
export function confirmDialog(title, text, yes) {
  return new Promise((resolve) => {
    const titleID = uid('dlg');
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleID },
      h('form', { method: 'dialog' },
        h('h2', { id: titleID }, title),
        h('p', null, text),
        h('div', { class: 'row end' },
          h('button', { value: 'no', class: 'secondary' }, 'Cancel'),
          h('button', { value: 'yes', class: 'danger' }, yes))));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'yes');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// ---------------------------------------------------------------- network

const transportText = { tcp: 'TCP', 'quic-v1': 'QUIC', relayed: 'relayed', webtransport: 'WebTransport', websocket: 'WebSocket' };

export function network(main) {
  const body = h('div', { 'aria-live': 'off' });
  const box = errorBox();
  const refreshBtn = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  let timer = 0;
  let dead = false;
  let shown = '';
  const load = async () => {
    clearTimeout(timer);
    try {
      const st = await api.status();
      box.show('');
      const sig = JSON.stringify(st);
      if (sig !== shown) {
        shown = sig;
        render(st);
      }
    } catch (err) {
      box.show(`Could not read the network status: ${err.message}`);
    }
    if (!dead) timer = setTimeout(load, 5000);
  };
  refreshBtn.addEventListener('click', load);
  const peers = (n) => `${n} peer${n === 1 ? '' : 's'}`;
  const addrs = (list, none) => (list?.length
    ? h('ul', { class: 'addrs' }, list.map((a) => h('li', { class: 'mono' }, a)))
    : h('p', { class: 'muted' }, none));
  const render = (st) => {
    const self = state.self;
    replace(body,
      h('section', { 'aria-labelledby': 'net-node' },
        h('h3', { id: 'net-node' }, 'This node'),
        h('dl', { class: 'facts' },
          h('dt', null, 'Peer ID'), h('dd', null, h('span', { class: 'mono' }, self.peer_id), copyButton('Copy peer ID', () => self.peer_id)),
          h('dt', null, 'Reachability'), h('dd', null, h('strong', null, st.reachability), ' — ', reachabilityText[st.reachability] ?? ''),
          st.relays?.length ? [h('dt', null, 'Relayed through'), h('dd', null, addrs(st.relays, ''))] : null,
          h('dt', null, 'Private network'), h('dd', null, st.private_network ? 'yes: only peers with the same swarm key can connect' : 'no'),
          h('dt', null, 'Local network discovery'), h('dd', null, st.mdns ? 'on (mDNS)' : 'off'),
          h('dt', null, 'DHT'), h('dd', null, `${st.dht_mode} mode, ${peers(st.dht_peers)} in the routing table`),
          h('dt', null, 'Public IPFS DHT'), h('dd', null, st.public_dht
            ? `on, ${peers(st.public_dht_peers)} in the routing table`
            : ['off (', h('a', { href: '#/settings' }, 'Settings'), ' turns it on)']),
          h('dt', null, 'Relay service'), h('dd', null, st.relay_service
            ? 'on: this node relays connections for peers behind NATs'
            : 'off'),
          h('dt', null, 'Mailbox service'), h('dd', null, st.mailbox_service
            ? `on: holding mail for ${st.mailbox?.owners ?? 0} ${st.mailbox?.owners === 1 ? 'person' : 'people'}`
            : ['off (', h('a', { href: '#/settings' }, 'Settings'), ' turns it on: Hold mail for others)']))),
      h('section', { 'aria-labelledby': 'net-addrs' },
        h('h3', { id: 'net-addrs' }, 'Addresses'),
        h('h4', null, 'Announced to peers'), addrs(st.announced_addrs, 'None yet.'),
        h('h4', null, 'Seen by peers as'), addrs(st.observed_addrs, 'No peer has told us yet.'),
        h('h4', null, 'Listening on'), addrs(st.listen_addrs, 'None.')),
      h('section', { 'aria-labelledby': 'net-peers' },
        h('h3', { id: 'net-peers' }, `Connected peers (${st.peers?.length ?? 0})`),
        st.peers?.length
          ? h('div', { class: 'table-wrap' }, h('table', { class: 'peers' },
            h('thead', null, h('tr', null, ['Peer', 'Transport', 'Direction', 'Address'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, st.peers.map((p) => h('tr', null,
              h('td', null, p.name ? h('strong', null, p.name) : null, p.name ? h('br') : null, h('span', { class: 'mono small' }, shortID(p.peer_id))),
              h('td', null, transportText[p.transport] ?? p.transport),
              h('td', null, p.direction),
              h('td', { class: 'mono small' }, p.addrs?.[0] ?? ''))))))
          : h('p', { class: 'muted' }, 'No peer is connected right now.')));
  };
  replace(main, pane('Network', { wide: true }, h('p', { class: 'row' }, refreshBtn, box), body));
  load();
  return { destroy() { dead = true; clearTimeout(timer); }, reload: load };
}

// ---------------------------------------------------------------- settings

export function settings(main) {
  const self = state.self;
  const input = h('input', { type: 'text', name: 'name', required: true, maxlength: '64', value: self.name, autocomplete: 'nickname' });
  const box = errorBox();
  const saved = h('span', { class: 'copied', role: 'status' });
  const form = h('form', { class: 'stack' },
    field('Display name', input, 'Contacts see it on your invite and with your messages, unless they gave you a name of their own. A change reaches each contact as soon as your nodes connect.'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), saved), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    saved.textContent = '';
    const r = await busy(form, box, () => api.setName(input.value.trim()));
    if (!r.ok) return;
    state.self = r.value;
    store.changed();
    saved.textContent = 'Saved';
  });
  const logoutBox = errorBox();
  const logoutButton = (label, call) => {
    const b = h('button', { type: 'button', class: 'secondary' }, label);
    b.addEventListener('click', async () => {
      const r = await busy(b.parentElement, logoutBox, call);
      if (r.ok) location.reload();
    });
    return b;
  };
  const logout = logoutButton('Log out this browser', () => api.logout());
  const logoutAll = logoutButton('Log out all browsers', () => api.logoutAll());
  const downloads = h('dd', { class: 'mono' }, '…');
  const loaded = api.settings();
  replace(main, pane('Settings', {},
    h('section', { 'aria-labelledby': 'set-profile' }, h('h3', { id: 'set-profile' }, 'Profile'), form),
    h('section', { 'aria-labelledby': 'set-files' }, h('h3', { id: 'set-files' }, 'Files'), autoAcceptForm(loaded, downloads)),
    h('section', { 'aria-labelledby': 'set-network' }, h('h3', { id: 'set-network' }, 'Network'), publicDHTForm(loaded)),
    presence.section(loaded),
    groupconv.section(loaded),
    devices.section(),
    mailboxes.section(),
    passphrase.section(),
    backup.section(),
    blockedSection(),
    h('section', { 'aria-labelledby': 'set-data' }, h('h3', { id: 'set-data' }, 'Data'),
      h('dl', { class: 'facts' },
        h('dt', null, 'Data folder'), h('dd', { class: 'mono' }, self.data_dir || '—'),
        h('dt', null, 'Downloads folder'), downloads,
        h('dt', null, 'Peer ID'), h('dd', { class: 'mono' }, self.peer_id))),
    h('section', { 'aria-labelledby': 'set-look' }, h('h3', { id: 'set-look' }, 'Appearance'),
      h('p', null, 'Parley follows your system\'s light or dark theme.')),
    h('section', { 'aria-labelledby': 'set-login' }, h('h3', { id: 'set-login' }, 'Browsers'),
      h('p', null, 'To log in another browser, run ', h('code', null, 'parley open'), ' in a terminal and open the link it prints.'),
      h('p', null, 'Logging out all browsers ends every session, this one included, also where a browser is lost or was shared.'),
      h('div', { class: 'row' }, logout, logoutAll), logoutBox)));
  return {};
}

const MB = 1 << 20;

/**
 * autoAcceptForm sets the size up to which files from contacts download
 * without asking, in MB (of 1,048,576 bytes, as sizes show everywhere in
 * the app); 0 asks every time. It fills downloads with the folder once the
 * settings are known (loaded, a promise of them).
 */
function autoAcceptForm(loaded, downloads) {
  const input = h('input', { type: 'number', name: 'auto-accept', min: '0', step: 'any', inputmode: 'decimal', disabled: true });
  const box = errorBox();
  const saved = h('span', { class: 'copied', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': 'Automatic downloads' },
    field('Download files automatically up to (MB)', input,
      'Files from your contacts up to this size download by themselves; larger ones wait until you accept them. 0: always ask.'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', disabled: true }, 'Save limit'), saved), box);
  const show = (s) => {
    input.value = s.auto_accept_bytes > 0 ? String(Math.round((s.auto_accept_bytes / MB) * 100) / 100) : '0';
    downloads.textContent = s.downloads || '—';
  };
  loaded.then((s) => {
    show(s);
    input.disabled = false;
    form.querySelector('button').disabled = false;
  }, (err) => box.show(`Could not load your settings: ${err.message}`));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    saved.textContent = '';
    const mb = Number(input.value);
    if (input.value.trim() === '' || !Number.isFinite(mb) || mb < 0) {
      box.show('Enter a size in MB: 0 or more.');
      return;
    }
    const r = await busy(form, box, () => api.setAutoAccept(Math.round(mb * MB)));
    if (!r.ok) return;
    show(r.value);
    saved.textContent = 'Saved';
  });
  return form;
}

/**
 * publicDHTForm turns the public IPFS DHT on or off: the node applies and
 * keeps it as soon as the box changes. A refusal (a private network) puts
 * the box back and says why.
 */
function publicDHTForm(loaded) {
  const check = h('input', { type: 'checkbox', name: 'public-dht', id: uid('f'), disabled: true });
  const hintID = uid('hint');
  check.setAttribute('aria-describedby', hintID);
  const box = errorBox();
  const saved = h('span', { class: 'copied', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': 'Public network' },
    h('div', { class: 'field check' }, check, h('label', { for: check.id }, 'Use the public IPFS network to find contacts')),
    h('p', { class: 'hint', id: hintID },
      'This reaches beyond your local network: your node joins the public IPFS DHT, where it publishes only a key hashed from your peer ID, so contacts on other networks can find you.'),
    saved, box);
  form.addEventListener('submit', (e) => e.preventDefault());
  loaded.then((s) => {
    check.checked = s.public_dht;
    check.disabled = false;
  }, (err) => box.show(`Could not load your settings: ${err.message}`));
  check.addEventListener('change', async () => {
    saved.textContent = '';
    const want = check.checked;
    check.disabled = true;
    const r = await busy(form, box, () => api.setPublicDHT(want));
    check.disabled = false;
    if (!r.ok) {
      check.checked = !want;
      return;
    }
    check.checked = r.value.public_dht;
    saved.textContent = r.value.public_dht ? 'Saved: on' : 'Saved: off';
  });
  return form;
}

// ---------------------------------------------------------------- errors

export function notFound(main, what) {
  replace(main, pane('Not found', {}, h('p', null, what), h('p', null, h('a', { href: '#/' }, 'Back to your conversations'))));
  return {};
}

/** loggedOut replaces the whole app: without a session nothing works. */
export function loggedOut(root) {
  replace(root, h('main', { class: 'logged-out' }, h('div', { class: 'card' },
    h('p', { class: 'logo', 'aria-hidden': 'true' }, 'P'),
    h('h1', null, 'This browser is not logged in to Parley'),
    h('p', null, 'For your safety, Parley only opens for a browser that logged in with a one-time link.'),
    h('p', null, 'In a terminal on this computer, run:'),
    h('pre', null, h('code', null, 'parley open')),
    h('p', null, 'and open the link it prints. (If you started Parley with ', h('code', null, '--data DIR'),
      ', add the same ', h('code', null, '--data DIR'), '.)'))));
}
