// The passphrase that protects the keys on this computer: the offer made
// once, on the start screen of a node that has none, and the Settings
// section that sets, changes or removes it. The node does the work
// (/api/v1/passphrase); a wrong current passphrase comes back as an error
// shown next to the form.

import { api } from './api.js';
import { busy, errorBox, field, h, replace } from './dom.js';

export const unprotectedWarning =
  'Without a passphrase, anyone who can read your files can read your messages and act as you.';
const forgetWarning =
  'Parley asks for it every time it starts. Nobody can recover it: if you forget it, you lose this identity and its messages.';

/** newFields are a new passphrase and its confirmation, labelled as given. */
function newFields(label, confirmLabel) {
  const pass = h('input', { type: 'password', name: 'new-passphrase', autocomplete: 'new-password', required: true });
  const again = h('input', { type: 'password', name: 'confirm-passphrase', autocomplete: 'new-password', required: true });
  return {
    fields: [field(label, pass), field(confirmLabel, again)],
    /** value is the new passphrase, or shows in box why there is none. */
    value(box) {
      if (!pass.value) {
        box.show('Please enter a passphrase.');
        return null;
      }
      if (pass.value !== again.value) {
        box.show('The two passphrases are not the same.');
        return null;
      }
      return pass.value;
    },
    clear() { pass.value = ''; again.value = ''; },
  };
}

/**
 * offer is the start screen's card that offers, once, to set a passphrase.
 * It stays empty when one is set or the offer was made (set or skipped).
 */
export function offer() {
  // aria-busy until the node answers whether to offer.
  const card = h('div', { class: 'card passphrase-offer', hidden: true, 'aria-busy': 'true' });
  api.passphrase().then((st) => {
    card.setAttribute('aria-busy', 'false');
    if (st.set || st.offered) return;
    const box = errorBox();
    const status = h('p', { role: 'status' });
    const nf = newFields('Passphrase', 'Confirm passphrase');
    const skip = h('button', { type: 'button', class: 'secondary' }, 'Skip');
    const form = h('form', { class: 'stack', 'aria-labelledby': 'offer-title' },
      nf.fields,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Set passphrase'), skip), box);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const pass = nf.value(box);
      if (pass === null) return;
      const r = await busy(form, box, () => api.setPassphrase('', pass));
      if (!r.ok) return;
      nf.clear();
      replace(card, h('h2', null, 'Passphrase set'), status);
      status.textContent = `Your keys are encrypted with your passphrase. ${forgetWarning}`;
    });
    skip.addEventListener('click', async () => {
      const r = await busy(form, box, () => api.skipPassphrase());
      if (r.ok) card.remove();
    });
    replace(card,
      h('h2', { id: 'offer-title' }, 'Protect Parley with a passphrase'),
      h('p', null, 'A passphrase encrypts your keys on this computer. ', forgetWarning),
      h('p', null, h('strong', null, unprotectedWarning)),
      form);
    card.hidden = false;
  }, () => { /* the node is not answering: the banner says so */ });
  return card;
}

/** section is Settings' Passphrase section: set one, or change or remove it. */
export function section() {
  const body = h('div', { class: 'stack' }, h('p', { class: 'muted' }, '…'));
  const show = (st) => replace(body, st.set ? changeForm(show) : setForm(show));
  api.passphrase().then(show, (err) => replace(body, h('p', { class: 'form-error', role: 'alert' },
    `Could not load the passphrase state: ${err.message}`)));
  return h('section', { 'aria-labelledby': 'set-passphrase' }, h('h3', { id: 'set-passphrase' }, 'Passphrase'), body);
}

function setForm(show) {
  const box = errorBox();
  const nf = newFields('Passphrase', 'Confirm passphrase');
  const form = h('form', { class: 'stack', 'aria-label': 'Set a passphrase' },
    h('p', null, 'No passphrase protects your keys. ', unprotectedWarning),
    nf.fields,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Set passphrase')), box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const pass = nf.value(box);
    if (pass === null) return;
    const r = await busy(form, box, () => api.setPassphrase('', pass));
    if (r.ok) show(r.value);
  });
  return form;
}

function changeForm(show) {
  const box = errorBox();
  const current = h('input', { type: 'password', name: 'current-passphrase', autocomplete: 'current-password' });
  const nf = newFields('New passphrase', 'Confirm new passphrase');
  const remove = h('button', { type: 'button', class: 'secondary' }, 'Remove passphrase');
  const confirmBox = h('div', { class: 'stack', hidden: true });
  const form = h('form', { class: 'stack', 'aria-label': 'Change or remove your passphrase' },
    h('p', null, 'A passphrase protects your keys. ', forgetWarning),
    field('Current passphrase', current),
    nf.fields,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Change passphrase'), remove),
    confirmBox, box);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!current.value) {
      box.show('Please enter your current passphrase.');
      return;
    }
    const pass = nf.value(box);
    if (pass === null) return;
    const r = await busy(form, box, () => api.setPassphrase(current.value, pass));
    if (!r.ok) return;
    current.value = '';
    nf.clear();
    box.show('');
    form.querySelector('[role=status]')?.remove();
    form.append(h('p', { role: 'status', class: 'copied' }, 'Passphrase changed'));
  });
  remove.addEventListener('click', () => {
    if (!current.value) {
      box.show('Please enter your current passphrase.');
      return;
    }
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, remove the passphrase');
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    replace(confirmBox, h('p', null, h('strong', null, unprotectedWarning)), h('div', { class: 'row' }, yes, no));
    confirmBox.hidden = false;
    no.addEventListener('click', () => { confirmBox.hidden = true; replace(confirmBox); });
    yes.addEventListener('click', async () => {
      const r = await busy(form, box, () => api.removePassphrase(current.value));
      if (r.ok) show(r.value);
      else { confirmBox.hidden = true; replace(confirmBox); }
    });
  });
  return form;
}
