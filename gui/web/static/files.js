// Files in a conversation: the card a file offer shows as, kept current by
// "file" events (and, for our own uploads, which have no progress events,
// by asking), and the uploads the composer sends.

import { api, fileURL, upload } from './api.js';
import { busy, errorBox, h, icon, replace } from './dom.js';
import { size } from './format.js';
import * as store from './store.js';

// The types the node serves inline, for previews; never HTML or SVG.
const previewTypes = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function percent(f) {
  if (!f.size) return f.state === 'complete' ? 100 : 0;
  return Math.min(100, Math.floor((f.bytes_done * 100) / f.size));
}

/** status says where a transfer stands, in words. */
function status(f) {
  const pct = percent(f);
  switch (f.state) {
    case 'offered':
      return f.outgoing ? `${size(f.size)} · waiting to be downloaded` : `${size(f.size)} · waiting for you to accept`;
    case 'transferring': {
      const what = `${pct}% · ${size(f.bytes_done)} of ${size(f.size)}`;
      const doing = f.outgoing ? 'Sending' : 'Receiving';
      return f.error ? `${doing}: ${f.error} · ${what}` : `${doing} · ${what}`;
    }
    case 'complete':
      return `100% · ${size(f.size)} · ${f.outgoing ? 'Sent' : 'Received'}`;
    case 'failed':
      return `Failed: ${f.error || 'the transfer stopped'}`;
    case 'cancelled':
      return 'Cancelled';
    default:
      return f.state;
  }
}

/**
 * FileCard is a file message's body: name, size, state, a progress bar
 * with its text, the actions the state allows, and a preview of a
 * complete image. update() redraws it in place: progress changes keep
 * the focus where it is; a new state rebuilds the actions.
 */
export class FileCard {
  /** m: the file message; onResize: called when a preview changes the card's height. */
  constructor(m, { onResize } = {}) {
    this.id = m.file_id;
    this.name = m.text;
    this.onResize = onResize ?? (() => {});
    this.bar = h('progress', { class: 'file-bar', max: '100', value: '0', 'aria-label': `Transfer of ${this.name}` });
    this.text = h('span', { class: 'file-status' }, '…');
    this.actions = h('div', { class: 'file-actions' });
    this.box = errorBox();
    this.preview = h('div', { class: 'file-preview' });
    this.el = h('div', { class: 'file-card', dataset: { file: this.id } },
      this.preview,
      h('div', { class: 'file-row' },
        h('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon('file')),
        h('span', { class: 'file-info' },
          h('span', { class: 'file-name text', dir: 'auto' }, this.name),
          this.text)),
      this.bar, this.actions, this.box);
    this.shownState = null;
    const f = store.file(this.id);
    if (f) this.update(f);
    else this.fetch();
  }

  async fetch() {
    try {
      this.update(store.setFile(await api.file(this.id)));
    } catch (err) {
      this.text.textContent = `Not available: ${err.message}`;
    }
  }

  update(f) {
    if (!f) return;
    this.file = f;
    const pct = percent(f);
    this.el.dataset.state = f.state;
    this.bar.value = pct;
    this.bar.setAttribute('aria-valuetext', status(f));
    this.bar.hidden = f.state === 'failed' || f.state === 'cancelled';
    this.text.textContent = status(f);
    if (f.state === this.shownState) return;
    this.shownState = f.state;
    this.renderActions(f);
    this.renderPreview(f);
  }

  renderActions(f) {
    const buttons = [];
    const act = (label, aria, cls, run) => {
      const b = h('button', { type: 'button', class: `small ${cls}`, 'aria-label': `${aria} ${this.name}` }, label);
      b.addEventListener('click', async () => {
        const r = await busy(this.actions, this.box, run);
        if (r.ok) this.update(store.setFile(r.value));
      });
      return b;
    };
    if (!f.outgoing && (f.state === 'offered' || f.state === 'failed')) {
      buttons.push(act(f.state === 'failed' ? 'Try again' : 'Accept', f.state === 'failed' ? 'Try again' : 'Accept',
        'primary', () => api.acceptFile(this.id)));
    }
    if (f.state === 'offered' || f.state === 'transferring') {
      const decline = !f.outgoing && f.state === 'offered';
      buttons.push(act(decline ? 'Decline' : 'Cancel', decline ? 'Decline' : 'Cancel', 'secondary', () => api.cancelFile(this.id)));
    }
    if (f.state === 'complete') {
      buttons.push(h('a', {
        class: 'button small secondary', href: fileURL(this.id), download: this.name, 'aria-label': `Download ${this.name}`,
      }, icon('download'), 'Download'));
    }
    replace(this.actions, buttons);
  }

  renderPreview(f) {
    const type = (f.media_type || '').split(';')[0].trim().toLowerCase();
    if (f.state !== 'complete' || !previewTypes.has(type)) {
      replace(this.preview);
      return;
    }
    const img = h('img', { src: fileURL(this.id, { inline: true }), alt: this.name, loading: 'lazy', decoding: 'async' });
    img.addEventListener('load', () => this.onResize());
    img.addEventListener('error', () => replace(this.preview)); // not an image after all
    replace(this.preview, img);
  }
}

/**
 * Uploads sends files to a conversation one after another, each with a
 * row that shows how far it got. The file's card appears in the history
 * once the node has made the offer (its message event); the row then goes.
 */
export class Uploads {
  constructor(to) {
    this.to = to;
    this.queue = Promise.resolve();
    this.el = h('ul', { class: 'uploads', 'aria-label': 'Files being attached' });
  }

  add(files) {
    for (const file of files) {
      const bar = h('progress', { max: '100', value: '0', 'aria-label': `Attaching ${file.name}` });
      const text = h('span', { class: 'upload-status' }, 'Waiting…');
      const box = errorBox();
      const row = h('li', { class: 'upload' },
        h('span', { class: 'upload-name', dir: 'auto' }, file.name), text, bar, box);
      this.el.append(row);
      this.queue = this.queue.then(() => this.send(file, row, bar, text, box));
    }
  }

  async send(file, row, bar, text, box) {
    text.textContent = `0% of ${size(file.size)}`;
    try {
      const f = await upload(this.to, file, (sent, total) => {
        const pct = total ? Math.floor((sent * 100) / total) : 100;
        bar.value = pct;
        text.textContent = pct < 100 ? `${pct}% of ${size(total)}` : 'Preparing the offer…';
      });
      store.setFile(f);
      row.remove();
    } catch (err) {
      bar.hidden = true;
      text.textContent = '';
      box.show(`Not sent: ${err.message}`);
      const dismiss = h('button', { type: 'button', class: 'link', 'aria-label': `Dismiss ${file.name}` }, icon('x'));
      dismiss.addEventListener('click', () => row.remove());
      row.append(dismiss);
    }
  }
}
