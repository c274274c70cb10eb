import type { ErrorCode } from '../errors.js';
import { GATEWAY_LIMITS, type GatewayProfile } from './gateway-profile.js';

/** Spanish messages, like the seed's ("Sesión cerrada"). */
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  INVALID_INPUT: 'Solicitud inválida.',
  INVALID_JSON: 'El cuerpo de la solicitud no es JSON válido.',
  INVALID_CREDENTIALS: 'Credenciales inválidas.',
  INVALID_TOKEN: 'La sesión expiró o no es válida. Inicie sesión nuevamente.',
  UNAUTHENTICATED: 'Se requiere autenticación.',
  CROSS_SITE_REQUEST: 'Solicitud de otro origen no permitida.',
  ROUTE_NOT_FOUND: 'Ruta no encontrada.',
  NOT_FOUND: 'No encontrado.',
  REQUEST_TIMEOUT: 'La solicitud no llegó a tiempo.',
  PAYLOAD_TOO_LARGE: 'El cuerpo de la solicitud es demasiado grande.',
  HEADERS_TOO_LARGE: 'Las cabeceras de la solicitud son demasiado grandes.',
  EXPECTATION_FAILED: 'Expectativa no admitida.',
  UNSUPPORTED_MEDIA_TYPE: 'Tipo de contenido no admitido.',
  RATE_LIMITED: 'Demasiadas solicitudes. Intente de nuevo más tarde.',
  UPSTREAM_UNAVAILABLE: 'El servicio de autenticación no está disponible. Intente de nuevo más tarde.',
  INTERNAL: 'Error interno del servidor.',
};

/** Seed 000: the judicial backend in front of an external JWT auth service. */
export const judicialProfile: GatewayProfile = {
  name: 'judicial',
  session: 'refresh-cookie',
  paths: { login: '/api/auth/login', refresh: '/api/auth/refresh', logout: '/api/auth/logout' },
  cookie: (env) => ({ name: 'refreshToken', path: '/api/auth', httpOnly: true, secure: env.secure, sameSite: 'Strict', domain: env.cookieDomain }),
  upstream: { login: '/api/AuthJWT/Login', refresh: '/api/AuthJWT/Refresh', logout: '/api/AuthJWT/Revoke' },
  limits: GATEWAY_LIMITS,
  error: (_status, code, _title, message) => ({
    contentType: 'application/json; charset=utf-8',
    body: { status: 'error', message: code === 'RATE_LIMITED' ? message.replace(/^Too many requests\. Try again in (\d+) seconds\.$/, 'Demasiadas solicitudes. Intente de nuevo en $1 segundos.') : (MESSAGES[code] ?? MESSAGES.INTERNAL), data: null },
  }),
};

export const JUDICIAL_MESSAGES = { logout: 'Sesión cerrada', login: 'Inicio de sesión exitoso', refresh: 'Sesión renovada' } as const;
