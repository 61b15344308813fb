// Type checks the browser's reducers share (hub/state/_util.py): state.js, costumes.js and
// frames.js judge values, and compare ids, exactly as the hub does.

/** A plain object (not null, not an array). */
export const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
/** A finite number. */
export const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);
/** An id: a non-empty string or an integer. */
export const isId = (v) => (typeof v === 'string' && v !== '') || Number.isInteger(v);
/** Two ids that are the same id (of one type: "1" is not 1). */
export const sameId = (a, b) => isId(a) && typeof a === typeof b && a === b;
