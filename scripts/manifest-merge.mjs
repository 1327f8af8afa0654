// Merges a per-browser patch (manifest.<name>.json) onto the browser-neutral
// manifest.json. The rule, applied at every level:
//
//   - an object in the patch merges into the base's object key by key
//     (keys the patch does not name stay as they are; new keys are added);
//   - any other patch value (string, number, boolean, array) replaces the
//     base's value: arrays are replaced whole, not concatenated;
//   - { "$add": [items] } adds to the base's array the items it does not
//     hold yet, in order (a browser's extra permissions without repeating
//     the shared ones).
//
// A patch only adds and changes: null (remove) and a change of kind (an
// object turned into a string, a list into a number...) are refused with
// ManifestPatchError. A field that one browser lacks belongs in the patches
// of the browsers that have it, never in manifest.json to be taken out.

export class ManifestPatchError extends Error {
  /** @param {string} path where in the manifest, e.g. "background.scripts" @param {string} problem */
  constructor(path, problem) {
    super(`manifest patch at ${path || '(top level)'}: ${problem}`);
    this.name = 'ManifestPatchError';
    this.path = path;
  }
}

const ADD_TO_LIST = '$add';

/** @returns {'object' | 'array' | 'null' | 'string' | 'number' | 'boolean'} */
function kindOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return /** @type {'object' | 'string' | 'number' | 'boolean'} */ (typeof value);
}

const isAddToList = (value) => kindOf(value) === 'object' && Object.hasOwn(value, ADD_TO_LIST);

/**
 * @param {unknown} base the value in the manifest so far (undefined: the key is new)
 * @param {unknown} patch the patch's value for the same key
 * @param {string} path for error messages
 * @returns {unknown} a new value; neither input is modified or shared
 */
function mergeValue(base, patch, path) {
  if (patch === null) throw new ManifestPatchError(path, 'null would remove the field; a patch can only add or change');
  if (isAddToList(patch)) {
    const items = patch[ADD_TO_LIST];
    if (Object.keys(patch).length !== 1 || !Array.isArray(items)) {
      throw new ManifestPatchError(path, `"${ADD_TO_LIST}" takes a list and stands alone in its object`);
    }
    if (!Array.isArray(base)) {
      throw new ManifestPatchError(path, `"${ADD_TO_LIST}" needs a list in the base (found ${base === undefined ? 'nothing' : kindOf(base)}); give a new list as a plain array`);
    }
    const added = items.filter((item, index) => !base.includes(item) && items.indexOf(item) === index);
    return structuredClone([...base, ...added]);
  }
  if (base !== undefined && kindOf(base) !== kindOf(patch)) {
    throw new ManifestPatchError(path, `would turn ${kindOf(base)} into ${kindOf(patch)}`);
  }
  if (kindOf(patch) !== 'object') return structuredClone(patch);
  const merged = new Map(Object.entries(base ?? {}).map(([key, value]) => [key, structuredClone(value)]));
  for (const [key, value] of Object.entries(patch)) {
    merged.set(key, mergeValue(merged.get(key), value, path ? `${path}.${key}` : key));
  }
  // fromEntries, not assignment: a "__proto__" key stays an ordinary field.
  return Object.fromEntries(merged);
}

/**
 * The manifest for one browser: base with each patch merged on top, in order
 * (firefox-test = base + firefox + firefox-test).
 * @param {Record<string, unknown>} base @param {Record<string, unknown>[]} patches
 */
export function mergeManifest(base, ...patches) {
  if (kindOf(base) !== 'object') throw new ManifestPatchError('', `the base manifest is ${kindOf(base)}, not an object`);
  return patches.reduce((manifest, patch) => {
    if (kindOf(patch) !== 'object') throw new ManifestPatchError('', `a patch is ${kindOf(patch)}, not an object`);
    return mergeValue(manifest, patch, '');
  }, structuredClone(base));
}
