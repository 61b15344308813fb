// Costumes and backstage objects on the board (issue 17): a port of hub/state/costumes.py,
// line by line. A costume (`wornBy` an avatar) follows its wearer by relative offset and scale,
// so its moves are never sent; a backstage object (`backstage: true`) is for performers only,
// and showing it brings it to the front (the audience receives it as a new placement).
import { isNumber, isObj, sameId } from './values.js';

const POSE = ['x', 'y', 'w', 'h'];

/** Whether a board object is prepared backstage (seen by performers only). */
export const isBackstage = (obj) => isObj(obj) && obj.backstage === true;

/** How much a size grew (1 when either size is not a positive number). */
const scaleOf = (n, o) => {
  const ratio = isNumber(n) && isNumber(o) && o > 0 && n > 0 ? n / o : 1;
  return isNumber(ratio) ? ratio : 1;
};
/** `value` unless a hostile pose made it overflow (JSON has no infinity: keep `fallback`). */
const finite = (value, fallback) => (isNumber(value) ? value : fallback);

/** A costume moved with its wearer from pose `old` to pose `now` (offset and size scaled). */
function followed(costume, old, now) {
  const sx = scaleOf(now.w, old.w);
  const sy = scaleOf(now.h, old.h);
  const moved = { ...costume };
  for (const [axis, size, scale] of [['x', 'w', sx], ['y', 'h', sy]]) {
    if (isNumber(costume[axis]) && isNumber(old[axis]) && isNumber(now[axis])) moved[axis] = finite(now[axis] + (costume[axis] - old[axis]) * scale, costume[axis]);
    if (isNumber(costume[size]) && scale !== 1) moved[size] = finite(costume[size] * scale, costume[size]);
  }
  if (isNumber(now.moveSpeed)) moved.moveSpeed = now.moveSpeed;
  return moved;
}

/** `objects` (a fresh copy, changed in place) after the object at `index` changed from `old`:
 * its costumes on the same side of the curtain follow it, and a shown object goes on top. */
export function dress(objects, index, old) {
  const now = objects[index];
  if (POSE.some((k) => isNumber(old[k]) && isNumber(now[k]) && old[k] !== now[k])) {
    const side = isBackstage(now);
    objects.forEach((obj, i) => {
      if (i !== index && sameId(obj.wornBy, now.id) && isBackstage(obj) === side) objects[i] = followed(obj, old, now);
    });
  }
  if (isBackstage(old) && !isBackstage(now)) objects.push(objects.splice(index, 1)[0]);
  return objects;
}
