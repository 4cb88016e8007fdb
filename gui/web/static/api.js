// The node's local API, as the GUI uses it: JSON over fetch (the session
// cookie authenticates) and the event WebSocket, which reconnects by itself.

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorized = () => {};

/** onUnauthorized sets what happens when the session is refused. */
export function onUnauthorized(fn) { unauthorized = fn; }

async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body instanceof Blob) { // an image, sent as it is
    init.headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch {
    throw new APIError(0, 'offline', 'Your Parley node is not answering. Is it still running?');
  }
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch { /* no JSON body */ }
  if (!resp.ok) {
    const err = new APIError(resp.status, data?.code ?? 'internal',
      data?.error ?? `Your node answered with an error (${resp.status}).`);
    if (resp.status === 401) unauthorized(err);
    if (err.code === 'internal') err.message = 'Something went wrong in your node; its log says more.';
    throw err;
  }
  return data;
}

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  self: () => call('GET', '/api/v1/self'),
  setName: (name) => call('PUT', '/api/v1/self', { name }),
  resetInvite: () => call('POST', '/api/v1/self/invite'),
  contacts: () => call('GET', '/api/v1/contacts'),
  addContact: (invite, name) => call('POST', '/api/v1/contacts', name ? { invite, name } : { invite }),
  pendingContacts: () => call('GET', '/api/v1/pending-contacts'),
  cancelPending: (peer) => call('DELETE', `/api/v1/pending-contacts/${enc(peer)}`),
  requests: () => call('GET', '/api/v1/requests'),
  accept: (peer) => call('POST', `/api/v1/requests/${enc(peer)}/accept`),
  setVerified: (peer, verified) => call('POST', `/api/v1/contacts/${enc(peer)}/verify`, { verified }),
  scanSafety: (peer, image) => call('POST', `/api/v1/contacts/${enc(peer)}/safety/scan`, image),
  conversations: () => call('GET', '/api/v1/conversations'),
  messages: (peer, { limit, read, before } = {}) =>
    call('GET', `/api/v1/messages${query({ with: peer, limit, read, before })}`),
  send: (to, text, clientID) => call('POST', '/api/v1/messages', { to, text, client_id: clientID }),
  act: (req) => call('POST', '/api/v1/actions', req),
  blocked: () => call('GET', '/api/v1/blocked'),
  block: (contact) => call('POST', '/api/v1/blocked', { contact }),
  unblock: (peer) => call('DELETE', `/api/v1/blocked/${enc(peer)}`),
  setConversationState: (req) => call('POST', '/api/v1/conversations/state', req),
  timer: (conversation) => call('GET', `/api/v1/timer${query({ conversation })}`),
  setTimer: (conversation, seconds) => call('PUT', '/api/v1/timer', { conversation, seconds }),
  search: (q, limit) => call('GET', `/api/v1/search${query({ q, limit })}`),
  groups: () => call('GET', '/api/v1/groups'),
  groupInvites: () => call('GET', '/api/v1/groups/invites'),
  createGroup: (name, history) => call('POST', '/api/v1/groups', { name, history }),
  setGroupHistory: (group, history) => call('POST', `/api/v1/groups/${enc(group)}/history`, { history }),
  inviteToGroup: (group, contact) => call('POST', `/api/v1/groups/${enc(group)}/invite`, { contact }),
  acceptGroup: (group) => call('POST', `/api/v1/groups/${enc(group)}/accept`),
  declineGroup: (group) => call('POST', `/api/v1/groups/${enc(group)}/decline`),
  leaveGroup: (group) => call('POST', `/api/v1/groups/${enc(group)}/leave`),
  members: (group) => call('GET', `/api/v1/groups/${enc(group)}/members`),
  removeMember: (group, member) => call('DELETE', `/api/v1/groups/${enc(group)}/members/${enc(member)}`),
  setRole: (group, member, role) => call('POST', `/api/v1/groups/${enc(group)}/members/${enc(member)}/role`, { role }),
  renameGroup: (group, name) => call('POST', `/api/v1/groups/${enc(group)}/rename`, { name }),
  groupMessages: (group, { limit, read, before } = {}) =>
    call('GET', `/api/v1/groups/${enc(group)}/messages${query({ limit, read, before })}`),
  groupSend: (group, text, clientID) =>
    call('POST', `/api/v1/groups/${enc(group)}/messages`, { text, client_id: clientID }),
  files: () => call('GET', '/api/v1/files'),
  file: (id) => call('GET', `/api/v1/files/${enc(id)}`),
  acceptFile: (id) => call('POST', `/api/v1/files/${enc(id)}/accept`),
  cancelFile: (id) => call('POST', `/api/v1/files/${enc(id)}/cancel`),
  settings: () => call('GET', '/api/v1/settings'),
  setPresence: (req) => call('PUT', '/api/v1/settings', req), // typing_indicators, last_seen
  typing: (conv, active) => call('POST', `/api/v1/conversations/${enc(conv)}/typing`, { active }),
  setAutoAccept: (bytes) => call('PUT', '/api/v1/settings', { auto_accept_bytes: bytes }),
  setPublicDHT: (on) => call('PUT', '/api/v1/settings', { public_dht: on }),
  setMailboxService: (on) => call('PUT', '/api/v1/settings', { mailbox_service: on }),
  setReadReceipts: (on) => call('PUT', '/api/v1/settings', { read_receipts: on }),
  messageInfo: (conv, msg) => call('GET', `/api/v1/conversations/${enc(conv)}/messages/${enc(msg)}/info`),
  devices: () => call('GET', '/api/v1/devices'),
  mailboxes: () => call('GET', '/api/v1/mailboxes'),
  addMailbox: (addr) => call('POST', '/api/v1/mailboxes', { addr }),
  removeMailbox: (peer) => call('DELETE', `/api/v1/mailboxes/${enc(peer)}`),
  offerMailbox: (contact) => call('POST', `/api/v1/contacts/${enc(contact)}/mailbox-offer`),
  acceptMailboxOffer: (id) => call('POST', `/api/v1/mailbox-offers/${enc(id)}/accept`),
  dismissMailboxOffer: (id) => call('POST', `/api/v1/mailbox-offers/${enc(id)}/dismiss`),
  status: () => call('GET', '/api/v1/status'),
  passphrase: () => call('GET', '/api/v1/passphrase'),
  setPassphrase: (old, next) => call('PUT', '/api/v1/passphrase', { old, new: next }),
  removePassphrase: (old) => call('DELETE', '/api/v1/passphrase', { old }),
  skipPassphrase: () => call('POST', '/api/v1/passphrase/skip'),
  logout: () => call('POST', '/api/v1/logout'),
  logoutAll: () => call('POST', '/api/v1/logout/all'),
};

/**
 * newClientID names one send: the node stores a message once per client ID,
 * so sending again with the same ID after an error cannot send it twice.
 */
export function newClientID() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] |= 1; // never all zeros, which the API refuses
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** fileURL is where a complete file's bytes are; inline: as an image, for previews. */
export function fileURL(id, { inline = false } = {}) {
  return `/api/v1/files/${enc(id)}/content${inline ? '?inline=1' : ''}`;
}

/**
 * upload sends a File (from a file input or a drop) to a contact or group:
 * the node keeps a copy and offers it. onProgress(sent, total) follows the
 * upload to the node (fetch cannot, XMLHttpRequest can). It resolves to
 * the FileView of the offer.
 */
export function upload(to, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/files/upload${query({ to, name: file.name })}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress?.(e.loaded, e.total); });
    xhr.addEventListener('load', () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* no JSON body */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(data);
        return;
      }
      const err = new APIError(xhr.status, data?.code ?? 'internal',
        data?.error ?? `Your node answered with an error (${xhr.status}).`);
      if (xhr.status === 401) unauthorized(err);
      if (err.code === 'internal') err.message = 'Something went wrong in your node; its log says more.';
      reject(err);
    });
    const offline = () => reject(new APIError(0, 'offline', 'Your Parley node is not answering. Is it still running?'));
    xhr.addEventListener('error', offline);
    xhr.addEventListener('abort', offline);
    xhr.send(file);
  });
}

/**
 * EventStream follows the node's events over a WebSocket. When the socket
 * closes (the node stopped, restarted, or the machine slept) it connects
 * again with exponential back-off and jitter; every (re)connection calls
 * onOpen, so the app can catch up on what it missed.
 */
export class EventStream {
  constructor({ onEvent, onOpen, onClose }) {
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.onClose = onClose;
    this.delay = EventStream.minDelay;
    this.ws = null;
    this.timer = 0;
    this.opens = 0;
  }

  static minDelay = 250;
  static maxDelay = 8000;

  start() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/events`);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.delay = EventStream.minDelay;
      this.opens += 1;
      this.onOpen(this.opens > 1);
    });
    ws.addEventListener('message', (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch { return; }
      this.onEvent(ev);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      const wait = Math.round(this.delay * (0.8 + Math.random() * 0.4));
      this.delay = Math.min(this.delay * 2, EventStream.maxDelay);
      this.onClose(wait);
      this.timer = setTimeout(() => this.start(), wait);
    });
  }

  /** retryNow skips the wait, as when the user asks or the tab wakes up. */
  retryNow() {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    this.delay = EventStream.minDelay;
    this.start();
  }
}
