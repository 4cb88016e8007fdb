// Devices in the GUI: Settings' Devices section, the person's devices as
// the node knows them (GET /api/v1/devices): this one, the others linked,
// and those revoked.

import { api } from './api.js';
import { bdi, errorBox, h, replace } from './dom.js';
import { fullTime, shortID } from './format.js';

/** section is Settings' Devices section. */
export function section() {
  const list = h('ul', { class: 'devices', 'aria-label': 'Your devices' });
  const box = errorBox();
  api.devices().then((devices) => {
    replace(list, devices.map((d) => h('li', { class: 'device', dataset: { peer: d.peer_id } },
      h('span', null, d.revoked ? h('span', { class: 'muted' }, 'Revoked device') : bdi(d.name || 'Unnamed device')),
      d.this ? h('span', { class: 'badge' }, 'This device') : null,
      h('span', { class: 'mono small muted', title: d.peer_id }, shortID(d.peer_id)),
      d.linked_at ? h('span', { class: 'small muted' }, `linked ${fullTime(new Date(d.linked_at))}`) : null)));
  }, (err) => box.show(`Could not load your devices: ${err.message}`));
  return h('section', { 'aria-labelledby': 'set-devices' }, h('h3', { id: 'set-devices' }, 'Devices'),
    h('p', { class: 'muted' }, 'The devices you use Parley on. Each has keys of its own; your contacts and groups see them all as you.'),
    list, box);
}
