export const hello = 'broker';
