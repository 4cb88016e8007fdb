// Mailboxes in the GUI: Settings' Mailboxes section (the nodes that hold
// your mail while you are offline, and "Hold mail for others"), the offer
// to hold a contact's mail from a conversation, and the card an offer
// shows as.

import { api } from './api.js';
import { bdi, busy, errorBox, field, h, replace, uid } from './dom.js';
import { shortID } from './format.js';
import { confirmDialog } from './screens.js';

const what = 'A mailbox is an always-on node — your own, a contact\'s, or your community\'s — that holds your messages, '
  + 'encrypted, while you are offline, until your node fetches them. It cannot read them or see who wrote them; '
  + 'it learns when you fetch, and how much mail waits for you.';

/** section is Settings' Mailboxes section. */
export function section() {
  const list = h('ul', { class: 'mailboxes', 'aria-label': 'Your mailboxes' });
  const listBox = errorBox();
  const load = async () => {
    try {
      render(await api.mailboxes());
      listBox.show('');
    } catch (err) {
      listBox.show(`Could not load your mailboxes: ${err.message}`);
    }
  };
  const render = (mailboxes) => {
    if (!mailboxes.length) {
      replace(list, h('li', { class: 'muted' }, 'No mailbox yet: messages reach you only while your node is online.'));
      return;
    }
    replace(list, mailboxes.map((m) => {
      const remove = h('button', { type: 'button', class: 'danger small' }, 'Remove');
      const item = h('li', { class: 'mailbox', dataset: { peer: m.peer_id } },
        h('div', { class: 'mailbox-main' },
          h('span', { class: 'mono', title: m.peer_id }, shortID(m.peer_id)),
          h('span', { class: 'mono small muted' }, m.addrs?.[0] ?? 'no address known')),
        remove);
      remove.addEventListener('click', async () => {
        if (!await confirmDialog(`Remove mailbox ${shortID(m.peer_id)}?`,
          'Your node stops fetching from it. Mail it still holds for you stays there until it expires.', 'Remove')) return;
        const r = await busy(item, listBox, () => api.removeMailbox(m.peer_id));
        if (r.ok) load();
      });
      return item;
    }));
  };

  const input = h('input', { type: 'text', name: 'mailbox', autocomplete: 'off', spellcheck: 'false', required: true });
  const box = errorBox();
  const saved = h('span', { class: 'copied', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': 'Add a mailbox' },
    field('Mailbox address or invite', input,
      'Paste the mailbox node\'s address (ending in /p2p/ and its peer ID) or its invite. Your node registers with it first.'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Add mailbox'), saved), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    saved.textContent = '';
    const addr = input.value.trim();
    if (!addr) {
      box.show('Paste a mailbox address or invite.');
      return;
    }
    const r = await busy(form, box, () => api.addMailbox(addr));
    if (!r.ok) return;
    input.value = '';
    saved.textContent = `Added ${shortID(r.value.peer_id)}`;
    load();
  });

  load();
  return h('section', { 'aria-labelledby': 'set-mailboxes' },
    h('h3', { id: 'set-mailboxes' }, 'Mailboxes'),
    h('p', null, what),
    list, listBox,
    h('h4', null, 'Add a mailbox'), form,
    h('h4', null, 'This node as a mailbox'), serviceForm());
}

/**
 * serviceForm turns this node's mailbox service on or off at once. Set by
 * `parley run --mailbox-service` (or --relay-service), it says so and
 * cannot change here.
 */
function serviceForm() {
  const check = h('input', { type: 'checkbox', name: 'mailbox-service', id: uid('f'), disabled: true });
  const hintID = uid('hint');
  check.setAttribute('aria-describedby', hintID);
  const status = h('p', { class: 'muted', role: 'status' });
  const box = errorBox();
  const form = h('form', { class: 'stack', 'aria-label': 'Hold mail for others' },
    h('div', { class: 'field check' }, check, h('label', { for: check.id }, 'Hold mail for others')),
    h('p', { class: 'hint', id: hintID },
      'For a node that is always on: people who choose it as their mailbox get their mail here while they are offline. '
      + 'It stores only encrypted mail, up to a quota per person, for 30 days at most.'),
    status, box);
  form.addEventListener('submit', (e) => e.preventDefault());
  const show = async (s) => {
    check.checked = s.mailbox_service;
    check.disabled = s.mailbox_service_at_start;
    let text = s.mailbox_service ? 'On.' : 'Off.';
    if (s.mailbox_service) {
      try {
        const n = (await api.status()).mailbox?.owners ?? 0;
        text = `On: holding mail for ${n} ${n === 1 ? 'person' : 'people'}.`;
      } catch { /* the switch still shows */ }
    }
    if (s.mailbox_service_at_start) text += ' Set by parley run --mailbox-service (or --relay-service) until the node restarts without it.';
    status.textContent = text;
  };
  api.settings().then(show, (err) => box.show(`Could not load your settings: ${err.message}`));
  check.addEventListener('change', async () => {
    const want = check.checked;
    check.disabled = true;
    const r = await busy(form, box, () => api.setMailboxService(want));
    check.disabled = false;
    if (!r.ok) {
      check.checked = !want;
      return;
    }
    show(r.value);
  });
  return form;
}

/**
 * offerButton offers this node to hold the contact's mail, when its
 * mailbox service is on (it appears once the settings say so). onSent gets
 * the offer as sent.
 */
export function offerButton(peer, name, onSent) {
  const box = errorBox();
  const button = h('button', { type: 'button', class: 'secondary small' }, 'Offer to hold their mail');
  const wrap = h('div', { class: 'offer-mail', hidden: true }, button, box);
  button.title = `Your node is always on: offer ${name} to hold their mail while they are offline`;
  button.addEventListener('click', async () => {
    const r = await busy(wrap, box, () => api.offerMailbox(peer));
    if (r.ok) onSent(r.value);
  });
  api.settings().then((s) => { wrap.hidden = !s.mailbox_service; }, () => {});
  return wrap;
}

/** offerCard is a mailbox offer in a conversation: ours, or a contact's to answer. */
export function offerCard(m, name, onResize) {
  const card = h('div', { class: 'offer-card', role: 'group', 'aria-label': 'Mailbox offer' });
  if (m.outgoing) {
    replace(card, h('p', null, 'You offered to hold ', bdi(name), '\'s mail while they are offline.'));
    return card;
  }
  const render = (state) => {
    const head = h('p', null, h('strong', null, bdi(name)), ' offers to hold your mail while you are offline.');
    if (state === 'accepted') {
      replace(card, head, h('p', { class: 'muted', role: 'status' }, 'Accepted: ', bdi(name), '\'s node is one of your mailboxes.'));
    } else if (state === 'dismissed') {
      replace(card, head, h('p', { class: 'muted', role: 'status' }, 'Dismissed.'));
    } else {
      const box = errorBox();
      const accept = h('button', { type: 'button', class: 'primary small' }, 'Accept');
      const dismiss = h('button', { type: 'button', class: 'secondary small' }, 'Dismiss');
      const actions = h('div', { class: 'row' }, accept, dismiss, box);
      accept.addEventListener('click', async () => {
        const r = await busy(actions, box, () => api.acceptMailboxOffer(m.id));
        if (r.ok) render('accepted');
      });
      dismiss.addEventListener('click', async () => {
        const r = await busy(actions, box, () => api.dismissMailboxOffer(m.id));
        if (r.ok) render('dismissed');
      });
      replace(card, head,
        h('p', { class: 'small muted' }, 'Their node would keep your messages, encrypted, until yours fetches them: it cannot read them, and learns when you fetch.'),
        actions);
    }
    onResize?.();
  };
  render(m.mailbox_offer?.state ?? 'open');
  return card;
}
