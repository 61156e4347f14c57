// The public screens besides sign-in, a chunk of their own (src/chunks.ts).
export { default as SignUp } from './SignUp.svelte';
export { default as Activate } from './Activate.svelte';
export { default as ConfirmEmail } from './ConfirmEmail.svelte';
export { default as ForgotPassword } from './ForgotPassword.svelte';
export { default as ResetPassword } from './ResetPassword.svelte';
export { default as OAuthCallback } from './OAuthCallback.svelte';
