import * as React from 'react';

/**
 * The Encrypted text field's badge in the Content-Type Builder (field list, type picker, dialog header), drawn
 * like Strapi's own field-type badges (`@strapi/icons/symbols`): the Text badge's colours, a lock instead of "Aa".
 * A plain icon there is blown up to the badge's size (a large black lock).
 */
export const EncryptedFieldIcon = React.forwardRef<SVGSVGElement, React.SVGProps<SVGSVGElement>>((props, ref) => (
  <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width={16} height={16} ref={ref} {...props}>
    <rect width={31} height={23} x={0.5} y={4.5} fill="#EAFBE7" stroke="#C6F0C2" rx={2.5} />
    <path
      fill="#328048"
      d="M21 13h-2v-1.5a3 3 0 0 0-6 0V13h-2a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h10a1 1 0 0 0 1-1v-7a1 1 0 0 0-1-1m-5 5.25a.75.75 0 1 1 0-1.5.75.75 0 0 1 0 1.5M18 13h-4v-1.5a2 2 0 0 1 4 0z"
    />
  </svg>
));
EncryptedFieldIcon.displayName = 'EncryptedFieldIcon';
