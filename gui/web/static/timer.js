// Disappearing messages: the "Disappearing messages" control in a
// conversation's header (a dialog: off, 5 minutes, 1 hour, 1 day, 1 week or
// a custom duration), the event line a timer change shows in the history,
// and the mark on a message that will disappear.

import { api } from './api.js';
import { append, errorBox, field, h, icon } from './dom.js';
import { fullTime, time } from './format.js';
import * as store from './store.js';

const units = [
  ['week', 7 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1],
];

/** timerText says a timer the way people do: "off", "5 minutes", "1 hour". */
export function timerText(seconds) {
  if (!seconds) return 'off';
  for (const [name, secs] of units) {
    if (seconds % secs === 0) {
      const n = seconds / secs;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const presets = [
  ['Off', 0], ['5 minutes', 300], ['1 hour', 3600], ['1 day', 86400], ['1 week', 7 * 86400],
];
const minSeconds = 30;
const maxSeconds = 365 * 86400;

function who(m) {
  if (m.outgoing) return 'You';
  return store.contact(m.from)?.name || m.from_name || 'Someone';
}

/** timerEventEl is the history line of a timer change (a message of kind timer). */
export function timerEventEl(m) {
  const text = m.timer_seconds
    ? `${who(m)} set disappearing messages to ${timerText(m.timer_seconds)}`
    : `${who(m)} turned off disappearing messages`;
  return h('li', { class: 'event timer-event', dataset: { id: m.id } },
    h('p', { dir: 'auto' }, icon('timer'), ' ', text, ' · ',
      h('time', { datetime: m.sent_at, title: fullTime(new Date(m.sent_at)) }, time(new Date(m.sent_at)))));
}

/** expiresEl marks a message that will disappear, saying when. */
export function expiresEl(m) {
  if (!m.expires_at) return null;
  const label = `Disappears ${fullTime(new Date(m.expires_at))}`;
  return h('span', { class: 'expires', role: 'img', 'aria-label': label, title: label }, icon('timer'));
}

/**
 * timerButton is the header's "Disappearing messages" button of a chat;
 * it reads the timer in force and opens the dialog that changes it.
 */
export function timerButton(chat) {
  const button = h('button', { type: 'button', class: 'tool timer-button', 'aria-haspopup': 'dialog' }, icon('timer'));
  let seconds = 0;
  const show = (s) => {
    seconds = s;
    const label = `Disappearing messages: ${timerText(s)}`;
    button.setAttribute('aria-label', label);
    button.title = label;
    button.classList.toggle('on', !!s);
  };
  show(0);
  button.refresh = () => api.timer(chat.id).then((t) => show(t.seconds)).catch(() => {});
  button.refresh();
  button.addEventListener('click', () => openDialog(chat, seconds, show));
  return button;
}

function openDialog(chat, current, show) {
  const box = errorBox();
  const name = 'timer-choice';
  const isPreset = presets.some(([, s]) => s === current);
  const radios = presets.map(([label, s]) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name, value: String(s), checked: isPreset && s === current }), ' ', label));
  const custom = h('input', { type: 'radio', name, value: 'custom', checked: !isPreset });
  const amount = h('input', { type: 'number', min: '1', step: '1', value: isPreset ? '2' : String(current / 60 | 0 || 1), inputmode: 'numeric' });
  const unit = h('select', null,
    h('option', { value: '60' }, 'minutes'), h('option', { value: '3600', selected: true }, 'hours'),
    h('option', { value: '86400' }, 'days'), h('option', { value: String(7 * 86400) }, 'weeks'));
  if (!isPreset) { unit.value = '60'; }
  amount.addEventListener('input', () => { custom.checked = true; });
  unit.addEventListener('change', () => { custom.checked = true; });
  const form = h('form', { method: 'dialog' });
  const dialog = h('dialog', { class: 'confirm timer-dialog', 'aria-label': 'Disappearing messages' });
  append(form, [
    h('h3', null, 'Disappearing messages'),
    h('p', { class: 'hint' }, chat.isGroup
      ? 'New messages disappear for every member this long after they are sent. Only admins can change this.'
      : 'New messages disappear for both of you this long after they are sent.'),
    h('fieldset', null, h('legend', null, 'Messages disappear after'), radios,
      h('label', { class: 'choice' }, custom, ' Custom'),
      h('div', { class: 'custom-timer' }, field('Amount', amount), field('Unit', unit))),
    box,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const choice = form.querySelector(`input[name="${name}"]:checked`)?.value ?? '0';
    const s = choice === 'custom' ? Math.round(Number(amount.value) * Number(unit.value)) : Number(choice);
    if (choice === 'custom' && !(s >= minSeconds && s <= maxSeconds)) {
      box.show('Choose from 1 minute to 365 days.');
      return;
    }
    try {
      const t = await api.setTimer(chat.id, s);
      show(t.seconds);
      dialog.close();
    } catch (err) {
      box.show(err.message);
    }
  });
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  chat.main.append(dialog);
  dialog.showModal();
}
