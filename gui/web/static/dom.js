// Small DOM helpers: elements are built with h(), never from HTML strings,
// so text from peers can never become markup.

// Properties set as such rather than as attributes.
const props = new Set(['value', 'checked', 'disabled', 'hidden', 'readOnly', 'selected', 'required']);

/**
 * h builds an element. attrs: attribute values (null/false leave them out),
 * "class", "dataset" (an object), "on<event>" handlers, and the properties
 * above. children: nodes, strings, arrays, null (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (props.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/**
 * bdi holds text a peer or the user chose (a name, a message): dir="auto"
 * and unicode-bidi: isolate (style.css) keep a right-to-left override in it
 * from reordering the text around it. Elements that hold nothing else take
 * { dir: 'auto' } and one of the classes style.css isolates instead.
 */
export function bdi(text) {
  return h('bdi', { dir: 'auto' }, text);
}

/** replace empties el and fills it with children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const svgNS = 'http://www.w3.org/2000/svg';

// Icons: 24×24 strokes, drawn with currentColor; always decorative
// (aria-hidden): the control around an icon carries the name.
const iconPaths = {
  add: ['M12 5v14', 'M5 12h14'],
  person: ['M16 20v-1a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v1', 'M10 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8', 'M19 8v6', 'M16 11h6'],
  group: ['M17 20v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1', 'M10 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8', 'M21 20v-1a4 4 0 0 0-3-3.9', 'M15 3.1a4 4 0 0 1 0 7.8'],
  qr: ['M4 4h6v6H4z', 'M14 4h6v6h-6z', 'M4 14h6v6H4z', 'M14 14h2v2h-2z', 'M18 18h2v2h-2z', 'M18 14h2', 'M14 18v2'],
  network: ['M5 12.5a10 10 0 0 1 14 0', 'M8.5 16a5 5 0 0 1 7 0', 'M2 9a15 15 0 0 1 20 0', 'M12 19.5h.01'],
  settings: ['M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6', 'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z'],
  back: ['M15 18l-6-6 6-6'],
  timer: ['M20 13a8 8 0 1 1-16 0 8 8 0 0 1 16 0z', 'M12 9v4l2.5 2', 'M10 2h4'],
  send: ['M22 2L11 13', 'M22 2l-7 20-4-9-9-4z'],
  info: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20', 'M12 16v-4', 'M12 8h.01'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  check: ['M4 12l5 5L20 6'],
  checks: ['M2 12l5 5L18 6', 'M12 16l1 1L23 6'],
  clock: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20', 'M12 6v6l4 2'],
  alert: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20', 'M12 8v4', 'M12 16h.01'],
  down: ['M6 9l6 6 6-6'],
  file: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6'],
  attach: ['M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5'],
  download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
  x: ['M18 6L6 18', 'M6 6l12 12'],
  pinned: ['M12 17v5', 'M9 10.8a2 2 0 0 1-1.1 1.8l-1.8.9A2 2 0 0 0 5 15.2V17h14v-1.8a2 2 0 0 0-1.1-1.8l-1.8-.9A2 2 0 0 1 15 10.8V6h1a2 2 0 0 0 0-4H8a2 2 0 0 0 0 4h1z'],
  muted: ['M8.7 3A6 6 0 0 1 18 8a21 21 0 0 0 .6 5', 'M17 17H3s3-2 3-9a4.7 4.7 0 0 1 .3-1.7', 'M10.3 21a1.9 1.9 0 0 0 3.4 0', 'M2 2l20 20'],
  blocked: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20', 'M4.9 4.9l14.2 14.2'],
  inbox: ['M22 12h-6l-2 3h-4l-2-3H2', 'M5.5 5.1L2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.5-6.9A2 2 0 0 0 16.8 4H7.2a2 2 0 0 0-1.7 1.1z'],
};

export function icon(name, cls = '') {
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', ('icon ' + cls).trim());
  for (const d of iconPaths[name] ?? []) {
    const p = document.createElementNS(svgNS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

/** srOnly is text for screen readers only. */
export function srOnly(text) {
  return h('span', { class: 'sr-only' }, text);
}

let idSeq = 0;
/** uid makes an element ID unique within the page. */
export function uid(prefix) {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/**
 * field is a labelled control: a label and the control, with an optional
 * hint tied to it by aria-describedby.
 */
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('p', { class: 'hint', id: hid }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

/**
 * errorBox is where a form says what went wrong, in plain words, next to
 * the form. role=alert: screen readers announce it when it fills.
 */
export function errorBox() {
  const el = h('p', { class: 'form-error', role: 'alert' });
  el.show = (msg) => { el.textContent = msg ? String(msg) : ''; };
  return el;
}

/**
 * busy marks a form as working (its buttons disabled) while p runs, and
 * reports a failure in box. It resolves to {ok, value}.
 */
export async function busy(form, box, p) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  box?.show('');
  try {
    return { ok: true, value: await p() };
  } catch (err) {
    box?.show(err.message || String(err));
    return { ok: false };
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

/**
 * switchForm is a setting's on/off box: loaded by get (a promise of a
 * bool), applied by set(on) (a promise of the value now in force) as soon
 * as it changes, put back when that fails. role: 'switch', or null for a
 * plain checkbox.
 */
export function switchForm(label, hint, get, set, role = 'switch') {
  const check = h('input', { type: 'checkbox', role, id: uid('f'), disabled: true });
  const hintID = uid('hint');
  check.setAttribute('aria-describedby', hintID);
  const box = errorBox();
  const saved = h('span', { class: 'copied', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': label },
    h('div', { class: 'field check' }, check, h('label', { for: check.id }, label)),
    h('p', { class: 'hint', id: hintID }, hint), saved, box);
  form.addEventListener('submit', (e) => e.preventDefault());
  Promise.resolve(get()).then((on) => {
    check.checked = on;
    check.disabled = false;
  }, (err) => box.show(`Could not load your settings: ${err.message}`));
  check.addEventListener('change', async () => {
    saved.textContent = '';
    const want = check.checked;
    check.disabled = true;
    const r = await busy(form, box, () => set(want));
    check.disabled = false;
    if (!r.ok) {
      check.checked = !want;
      return;
    }
    check.checked = r.value;
    saved.textContent = r.value ? 'Saved: on' : 'Saved: off';
  });
  return form;
}
