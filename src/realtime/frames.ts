// Frames the realtime layer writes itself (replies, room status, typing, presence): serialized
// once, and the same string goes to every recipient socket.

export const frame = (type: string, payload: object): string => JSON.stringify({ type, ...payload })
