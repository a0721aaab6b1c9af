export * from './normalise';
export * from './validators';
export * from './masking';
export * from './field-options';
export * from './access';
export * from './synthetic';
export * from './customer';
export * from './grants';
