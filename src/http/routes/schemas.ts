/** JSON schemas shared by routes; they also generate the OpenAPI document. */
export const credentialsBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', format: 'email', maxLength: 320, description: 'The account email.' },
    password: { type: 'string', minLength: 1, maxLength: 1024, description: 'The password (never logged or stored in clear).' },
  },
} as const;

export const registerBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    email: { type: 'string', maxLength: 320 },
    password: { type: 'string', minLength: 8, maxLength: 1024 },
    name: { type: 'string', maxLength: 200 },
  },
} as const;

export const refreshBody = {
  // null: a body-less request is valid, not a schema error built and formatted on every call.
  type: ['object', 'null'],
  properties: {
    refreshToken: { type: 'string', maxLength: 512, description: 'Only read when the request has no refresh cookie (mobile / non-web clients).' },
  },
} as const;

export const logoutBody = {
  type: ['object', 'null'],
  properties: {
    refreshToken: { type: 'string', description: 'Only read when the request has no refresh cookie.' },
    scope: { type: 'string', enum: ['session', 'all', 'others'], description: 'Which sessions to end (native profile). Default: session.' },
  },
} as const;

export const passwordBody = {
  type: 'object',
  required: ['currentPassword', 'newPassword'],
  properties: {
    currentPassword: { type: 'string', maxLength: 1024 },
    newPassword: { type: 'string', minLength: 8, maxLength: 1024 },
  },
} as const;

export const bearer = [{ bearerAuth: [] }];
