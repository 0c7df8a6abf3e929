"""Every Portuguese string staff or citizens read outside the e-mail templates: `Observação` notes, status-tab labels, calendar event text; no logic."""

from __future__ import annotations

# ----------------------------------------------------------------- Observação (sheet notes)

REASON_DUPLICATE = "Duplicado de {protocol}"
REASON_TOO_MANY = (
    "Limite de {limit} solicitações em aberto para este e-mail atingido; nenhum e-mail enviado"
)
REASON_EDITED = "Resposta alterada após o processamento; verifique com o cidadão"
REASON_UNRECOGNISED = "Protocolo não reconhecido"
NOTE_LANDLINE = "Telefone fixo: confirme se tem WhatsApp"
REASON_NO_SLOT = "Sem horário disponível"
REASON_AFTER_DEADLINE = "Resposta enviada após o prazo"
REASON_MEET_PENDING = "Link do Google Meet em criação; nova verificação automática"
REASON_MEET_FAILED = "Falha ao criar o link do Google Meet; agende manualmente"
REASON_EVENT_DELETED = "Evento excluído antes da confirmação"
REASON_MAIL_CAP = "Limite diário de e-mails atingido; envio automático assim que possível"
REASON_TRANSIENT = "Falha temporária do Google ({what}); nova tentativa automática"
REASON_PAUSED = "Integração pausada: credenciais do Google precisam de atenção do operador"
REASON_POISON = "Erro inesperado ao processar esta solicitação; atenda manualmente"
REASON_PERMANENT = "Erro ao criar o evento na agenda; agende manualmente"
REASON_MAIL_FAILED = "Falha no envio do e-mail ao cidadão; contate-o por telefone"
REASON_BOUNCED = "E-mail não entregue: contatar por telefone ou WhatsApp"
REASON_BAD_STAFF_TIME = "Data/hora não reconhecida: digite dd/mm/aaaa hh:mm"
REASON_CLOSED_DAY = "Atendimento em dia sem expediente"
REASON_NOT_APPLICABLE = "Ação não aplicável: solicitação {status}"
REASON_CANCELLED_FINAL = "Solicitação cancelada: peça um novo pedido pelo formulário"
REASON_TYPE_NEW_TIME = "Digite a nova data e hora em Atendimento"
REASON_NO_SLOT_RESCHEDULE = "Sem horário para remarcar"
REASON_TYPED = "{reason}: {value}"
WAITING_CONFIRMATION = "Confirmação aguardando envio"
WAITING_ACK = "Aviso de recebimento aguardando envio"
WHAT_CALENDAR = "Agenda"
WHAT_MAIL = "envio"

# ----------------------------------------------------------------- the `balcao` status tab

TAB_TITLE = "Situação do serviço (atualizado automaticamente)"
TAB_LAST_TICK = "Último ciclo concluído"
TAB_STATE = "Estado"
TAB_RUNNING = "em execução"
TAB_PAUSED = (
    "pausado: a conta do Google usada pelo balcao precisa de atenção do operador "
    "(credenciais ou permissões); nenhuma solicitação foi perdida"
)
TAB_PAST_DEADLINE = "Prazo vencido sem resposta"

# ----------------------------------------------------------------- calendar events (plain text)

EVENT_SUMMARY = "Balcão Virtual {protocol} – {first_name}"
EVENT_SUMMARY_WHATSAPP = " (WhatsApp)"
EVENT_CITIZEN_FALLBACK = "cidadão"
EVENT_PROTOCOL = "Protocolo: {protocol}"
EVENT_SERVICE = "Serviço: {service}"
EVENT_AUTO = "Atendimento pelo Balcão Virtual, agendado automaticamente pelo balcao."
EVENT_WHATSAPP = "Canal: chamada de vídeo pelo WhatsApp, a partir do número do cartório."
EVENT_PHONE = "Telefone do cidadão: {phone}"
EVENT_WA_LINK = "Abrir conversa: https://wa.me/{digits}"
LINK_WHATSAPP = "WhatsApp"

# ----------------------------------------------------------------- erasure (DESIGN §9)

ERASED_CELL = "[removido]"
REASON_EMAIL_ERASED = "E-mail inválido"  # the note of an erased request whose address was bad
ERASED_EVENT_SUMMARY = "Balcão Virtual {protocol}"
