// The app's state: what the node told us last, refreshed from the API and
// kept current by events. Views read it and subscribe to changes.

import { api } from './api.js';

export const state = {
  self: null, // SelfView
  contacts: [], // ContactView, accepted
  requests: [], // ContactView, strangers who wrote
  pending: [], // PendingContactView: short codes waiting for their owner
  conversations: [], // ConversationView
  groups: [], // GroupView: joined, left, removed
  invites: [], // GroupView: invitations waiting for an answer
  blocked: [], // BlockedView: peers the user blocked (block.js)
  files: new Map(), // file ID → FileView, ours and theirs, kept current by "file" events
  // online overrides the presence the lists were fetched with, from
  // presence events: peer ID → bool.
  online: new Map(),
  loaded: false,
  // connected: the event stream is up. While it is down, nobody's
  // presence is known.
  connected: true,
};

const listeners = new Set();

/** subscribe calls fn after every change; it returns the unsubscribe. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function changed() {
  for (const fn of listeners) fn(state);
}

const loaders = {
  self: async () => { state.self = await api.self(); },
  contacts: async () => { state.contacts = await api.contacts(); },
  requests: async () => { state.requests = await api.requests(); },
  pending: async () => { state.pending = await api.pendingContacts(); },
  conversations: async () => { state.conversations = await api.conversations(); },
  groups: async () => { state.groups = await api.groups(); },
  invites: async () => { state.invites = await api.groupInvites(); },
  blocked: async () => { state.blocked = await api.blocked(); },
  files: async () => { state.files = new Map((await api.files()).map((f) => [f.id, f])); },
};

/**
 * refresh reloads the named parts (all when none are named) and tells the
 * subscribers once. Presence overrides are dropped for reloaded lists: the
 * fresh lists carry fresh presence.
 */
export async function refresh(...parts) {
  const names = parts.length ? parts : Object.keys(loaders);
  await Promise.all(names.map((n) => loaders[n]()));
  if (names.includes('contacts') && names.includes('conversations')) state.online.clear();
  state.loaded = true;
  changed();
}

let pending = new Set();
let timer = 0;

/**
 * refreshSoon batches refreshes that events ask for in a burst (a group
 * change, many messages arriving) into one round of requests.
 */
export function refreshSoon(...parts) {
  parts.forEach((p) => pending.add(p));
  clearTimeout(timer);
  timer = setTimeout(() => {
    const names = [...pending];
    pending = new Set();
    refresh(...names).catch(() => { /* the connection banner tells */ });
  }, 120);
}

export function isOnline(peerID) {
  if (!state.connected) return false;
  if (state.online.has(peerID)) return state.online.get(peerID);
  const c = state.contacts.find((x) => x.peer_id === peerID) ?? state.requests.find((x) => x.peer_id === peerID);
  if (c) return c.online;
  const conv = state.conversations.find((x) => x.peer === peerID);
  return conv?.online ?? false;
}

export function contact(peerID) {
  return state.contacts.find((c) => c.peer_id === peerID);
}

export function request(peerID) {
  return state.requests.find((c) => c.peer_id === peerID);
}

export function group(id) {
  return state.groups.find((g) => g.id === id) ?? state.invites.find((g) => g.id === id);
}

/** nameOf is how a peer is shown: contact name, request's card name, short ID. */
export function nameOf(peerID) {
  if (state.self && peerID === state.self.peer_id) return state.self.name;
  const c = contact(peerID) ?? request(peerID);
  if (c?.name) return c.name;
  const conv = state.conversations.find((x) => x.peer === peerID);
  if (conv?.name) return conv.name;
  return '';
}

export function conversationForPeer(peerID) {
  return state.conversations.find((c) => c.kind === 'dm' && c.peer === peerID);
}

export function conversationForGroup(id) {
  return state.conversations.find((c) => c.kind === 'group' && c.id === id);
}

/**
 * onChange returns a state handler that calls render only when what
 * signature() returns changed: redrawing a screen whose data did not
 * change would lose what the user was typing and where the focus was.
 */
export function onChange(signature, render) {
  let last = JSON.stringify(signature());
  return () => {
    const now = JSON.stringify(signature());
    if (now === last) return;
    last = now;
    render();
  };
}

/** groupShape is what screens show of a group, for onChange signatures. */
export function groupShape(id) {
  const g = group(id);
  return g ? [g.name, g.state, g.role, g.members] : null;
}

export function file(id) {
  return state.files.get(id);
}

// fileRank orders a transfer's states: offered, then transferring (or
// failed, which a retry turns back into transferring), then complete,
// then cancelled, which nothing follows.
const fileRank = { offered: 0, transferring: 1, failed: 1, complete: 2, cancelled: 3 };

/**
 * setFile records what the node said of a file, unless what we have is
 * newer: answers and events cross (an accept's answer, "transferring",
 * may come after the event saying "complete"), so a file never moves back
 * to an earlier state, nor its progress back within one.
 */
export function setFile(f) {
  const cur = state.files.get(f.id);
  if (cur) {
    const was = fileRank[cur.state] ?? 0, now = fileRank[f.state] ?? 0;
    if (now < was || (cur.state === f.state && cur.bytes_done > f.bytes_done)) return cur;
  }
  state.files.set(f.id, f);
  return f;
}
