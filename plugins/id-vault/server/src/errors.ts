import { errors } from '@strapi/utils';

/** A 400 that names the field and never echoes the submitted value. */
export class IdVaultValidationError extends errors.ValidationError {
  constructor(field: string, message: string) {
    super(`${field} ${message}`, { errors: [{ path: [field], message: `${field} ${message}`, name: 'ValidationError' }] });
  }
}

/** A 400 for a query the vault cannot run on ciphertext (bad operator, sort by an encrypted field). */
export class IdVaultQueryError extends errors.ValidationError {
  constructor(field: string, message: string) {
    super(message, { errors: [{ path: [field], message, name: 'ValidationError' }] });
  }
}
