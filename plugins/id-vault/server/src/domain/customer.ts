import { isValidResidentId, isValidCreditCode } from './validators';

export interface RuleViolation {
  field: string;
  message: string;
}

/**
 * Rules of a customer record that depend on more than one field, checked on plaintext before storage.
 * `next` is what the record will hold after the write, as far as the write and the stored row tell.
 */
export const customerViolations = (
  next: { idType?: unknown; idNumber?: unknown; creditCode?: unknown },
  written: Set<string>,
  today = new Date()
): RuleViolation[] => {
  const out: RuleViolation[] = [];
  const checksId = written.has('idNumber') || written.has('idType');
  if (checksId && next.idType === 'resident-id' && typeof next.idNumber === 'string' && next.idNumber !== '') {
    if (!isValidResidentId(next.idNumber, today)) {
      out.push({ field: 'idNumber', message: 'must be a valid 18-character resident ID number (GB 11643 check digit and a real birth date)' });
    }
  }
  if (written.has('creditCode') && typeof next.creditCode === 'string' && next.creditCode !== '') {
    if (!isValidCreditCode(next.creditCode)) {
      out.push({ field: 'creditCode', message: 'must be a valid unified social credit code (GB 32100)' });
    }
  }
  return out;
};
