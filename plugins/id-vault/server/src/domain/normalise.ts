export type Normalisation = 'none' | 'digits' | 'lower' | 'trim';
export const NORMALISATIONS: readonly Normalisation[] = ['none', 'digits', 'lower', 'trim'];

/** The form a value is indexed in, so equal things written differently match. */
export const normalise = (value: string, mode: Normalisation): string => {
  switch (mode) {
    case 'none':
      return value;
    case 'trim':
      return value.trim().replace(/\s+/g, ' ');
    case 'lower':
      return value.trim().toLowerCase();
    case 'digits':
      return value.replace(/[^0-9]/g, '');
    default:
      // Unreachable after parseFieldOptions; never index under a guessed form.
      throw new TypeError('unknown normalisation');
  }
};
