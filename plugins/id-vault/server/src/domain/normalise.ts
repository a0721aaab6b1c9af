export type Normalisation = 'none' | 'digits' | 'lower' | 'trim';
export const NORMALISATIONS: readonly Normalisation[] = ['none', 'digits', 'lower', 'trim'];

const squeeze = (v: string) => v.trim().replace(/\s+/g, ' ');

/** The form a value is indexed in, so equal things written differently match. */
export const normalise = (value: string, mode: Normalisation): string => {
  switch (mode) {
    case 'none':
      return value;
    case 'trim':
      return squeeze(value);
    case 'lower':
      return squeeze(value).toLowerCase();
    case 'digits':
      return value.replace(/[^0-9]/g, '');
  }
};
