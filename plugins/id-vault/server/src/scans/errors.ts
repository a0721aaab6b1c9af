import createError from 'http-errors';

/**
 * An HTTP error with the standard error body (`{ data: null, error: { status, name, message, details } }`):
 * Strapi formats HttpErrors with their message, 5xx included — so messages here never carry content, file
 * names or values, only what was detected and the limits.
 */
export const scanError = (status: number, name: string, message: string, details?: Record<string, unknown>) => {
  const e: any = createError(status, message);
  e.name = name;
  if (details) e.details = details;
  return e as Error & { status: number; details?: Record<string, unknown> };
};
