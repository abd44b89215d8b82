"""System announcements: generated once with espeak-ng and sox, per language.

Files live in settings.sounds_dir/system/<lang>/<name>.wav, 16 kHz mono
16-bit: the conference bridge of the workers runs at 16 kHz, so pjsua2
plays them without resampling. A missing file is generated on first use;
`ensure_all` makes them all (the pool runs it before forking workers).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from appliance.settings import Settings

log = logging.getLogger(__name__)

LANGUAGES = ("fr", "en", "de", "it")
VOICES = {"fr": "fr-fr", "en": "en-gb", "de": "de", "it": "it"}
RATE = 16000

TEXTS: dict[str, dict[str, str]] = {
    "no_such_number": {
        "fr": "Le numéro que vous avez demandé n'existe pas.",
        "en": "The number you have dialled does not exist.",
        "de": "Die gewählte Rufnummer ist nicht vergeben.",
        "it": "Il numero selezionato è inesistente.",
    },
    "not_available": {
        "fr": "Votre correspondant n'est pas joignable pour le moment.",
        "en": "The person you are calling is not available at the moment.",
        "de": "Der gewünschte Gesprächspartner ist zurzeit nicht erreichbar.",
        "it": "La persona chiamata non è al momento raggiungibile.",
    },
    "busy": {
        "fr": "Votre correspondant est déjà en ligne.",
        "en": "The person you are calling is busy.",
        "de": "Der gewünschte Gesprächspartner ist besetzt.",
        "it": "La persona chiamata è occupata.",
    },
    "echo_test": {
        "fr": "Test d'écho. Parlez, vous allez vous entendre.",
        "en": "Echo test. Speak and you will hear yourself.",
        "de": "Echotest. Sprechen Sie, Sie hören sich selbst.",
        "it": "Test dell'eco. Parli, sentirà la sua voce.",
    },
    "enter_extension": {
        "fr": "Veuillez composer le numéro du poste.",
        "en": "Please dial the extension number.",
        "de": "Bitte wählen Sie die Nebenstelle.",
        "it": "Digiti il numero dell'interno.",
    },
    "enter_number": {
        "fr": "Composez le numéro que vous souhaitez appeler, puis dièse.",
        "en": "Dial the number you want to call, then hash.",
        "de": "Wählen Sie die gewünschte Rufnummer, dann Raute.",
        "it": "Digiti il numero che desidera chiamare, poi cancelletto.",
    },
    "call_not_allowed": {
        "fr": "Cet appel n'est pas autorisé.",
        "en": "This call is not allowed.",
        "de": "Dieser Anruf ist nicht erlaubt.",
        "it": "Questa chiamata non è consentita.",
    },
    "outbound_blocked": {
        "fr": "Les appels sortants sont bloqués pour le moment. Contactez votre administrateur.",
        "en": "Outgoing calls are blocked for now. Please contact your administrator.",
        "de": "Abgehende Anrufe sind derzeit gesperrt. Wenden Sie sich an Ihren Administrator.",
        "it": "Le chiamate in uscita sono bloccate. Contatti l'amministratore.",
    },
    "too_many_calls": {
        "fr": "Trop d'appels en cours. Veuillez réessayer plus tard.",
        "en": "Too many calls at the moment. Please try again later.",
        "de": "Zu viele Anrufe im Moment. Bitte versuchen Sie es später.",
        "it": "Troppe chiamate in questo momento. Riprovi più tardi.",
    },
    "invalid_choice": {
        "fr": "Choix non valide.",
        "en": "Invalid choice.",
        "de": "Ungültige Auswahl.",
        "it": "Scelta non valida.",
    },
    "not_allowed": {
        "fr": "Vous n'êtes pas autorisé à utiliser ce service.",
        "en": "You are not allowed to use this service.",
        "de": "Sie sind nicht berechtigt, diesen Dienst zu nutzen.",
        "it": "Non è autorizzato a usare questo servizio.",
    },
    "goodbye": {
        "fr": "Au revoir.",
        "en": "Goodbye.",
        "de": "Auf Wiederhören.",
        "it": "Arrivederci.",
    },
    "switch_enter_code": {
        "fr": "Composez le numéro du commutateur, puis dièse.",
        "en": "Dial the switch number, then hash.",
        "de": "Wählen Sie die Nummer des Schalters, dann Raute.",
        "it": "Digiti il numero dell'interruttore, poi cancelletto.",
    },
    "switch_is_off": {
        "fr": "Le commutateur est désactivé.",
        "en": "The switch is off.",
        "de": "Der Schalter ist aus.",
        "it": "L'interruttore è spento.",
    },
    "switch_is_on": {
        "fr": "Le commutateur est activé.",
        "en": "The switch is on.",
        "de": "Der Schalter ist ein.",
        "it": "L'interruttore è acceso.",
    },
    "switch_is_extra": {
        "fr": "Le commutateur est sur l'état supplémentaire.",
        "en": "The switch is in the extra state.",
        "de": "Der Schalter ist im Zusatzzustand.",
        "it": "L'interruttore è nello stato supplementare.",
    },
    "switch_choose_two": {
        "fr": "Tapez 1 pour l'activer, 0 pour le désactiver.",
        "en": "Press 1 to turn it on, 0 to turn it off.",
        "de": "Drücken Sie 1 zum Einschalten, 0 zum Ausschalten.",
        "it": "Prema 1 per accenderlo, 0 per spegnerlo.",
    },
    "switch_choose_three": {
        "fr": "Tapez 1 pour l'activer, 0 pour le désactiver, 2 pour l'état supplémentaire.",
        "en": "Press 1 for on, 0 for off, 2 for the extra state.",
        "de": "Drücken Sie 1 für ein, 0 für aus, 2 für den Zusatzzustand.",
        "it": "Prema 1 per acceso, 0 per spento, 2 per lo stato supplementare.",
    },
    "dial_by_name": {
        "fr": "Composez les premières lettres du nom de famille sur le clavier, puis dièse.",
        "en": "Enter the first letters of the surname on the keypad, then hash.",
        "de": "Geben Sie die ersten Buchstaben des Nachnamens ein, dann Raute.",
        "it": "Digiti le prime lettere del cognome sulla tastiera, poi cancelletto.",
    },
    "no_name_matches": {
        "fr": "Aucun nom ne correspond.",
        "en": "No name matches.",
        "de": "Kein Name passt.",
        "it": "Nessun nome corrisponde.",
    },
    "record_after_tone": {
        "fr": "Enregistrez votre message après le bip. Raccrochez ou tapez dièse pour terminer.",
        "en": "Record your message after the tone. Hang up or press hash when you are done.",
        "de": "Sprechen Sie nach dem Ton. Legen Sie auf oder drücken Sie Raute zum Beenden.",
        "it": "Registri il messaggio dopo il segnale. Riagganci o prema cancelletto per finire.",
    },
    "call_recorded": {
        "fr": "Cet appel est enregistré.",
        "en": "This call is being recorded.",
        "de": "Dieses Gespräch wird aufgezeichnet.",
        "it": "Questa chiamata viene registrata.",
    },
    "vm_leave_message": {
        "fr": "Laissez votre message après le bip. Tapez dièse pour terminer.",
        "en": "Please leave your message after the tone. Press hash when you are done.",
        "de": "Hinterlassen Sie Ihre Nachricht nach dem Ton. Drücken Sie Raute zum Beenden.",
        "it": "Lasci il suo messaggio dopo il segnale. Prema cancelletto per finire.",
    },
    "vm_box_full": {
        "fr": "Cette boîte vocale est pleine et ne peut plus recevoir de message.",
        "en": "This mailbox is full and cannot take any more messages.",
        "de": "Diese Mailbox ist voll und kann keine Nachrichten mehr aufnehmen.",
        "it": "Questa casella vocale è piena e non può ricevere altri messaggi.",
    },
    "vm_message_saved_for": {
        "fr": "Votre message a été enregistré.",
        "en": "Your message has been recorded.",
        "de": "Ihre Nachricht wurde aufgezeichnet.",
        "it": "Il suo messaggio è stato registrato.",
    },
    "vm_enter_box": {
        "fr": "Composez le numéro de la boîte vocale, puis dièse.",
        "en": "Please enter your mailbox number, then hash.",
        "de": "Geben Sie die Nummer Ihrer Mailbox ein, dann Raute.",
        "it": "Digiti il numero della casella vocale, poi cancelletto.",
    },
    "vm_enter_pin": {
        "fr": "Composez votre code PIN, puis dièse.",
        "en": "Please enter your PIN, then hash.",
        "de": "Geben Sie Ihre PIN ein, dann Raute.",
        "it": "Digiti il suo PIN, poi cancelletto.",
    },
    "vm_wrong_pin": {
        "fr": "Code incorrect.",
        "en": "Wrong PIN.",
        "de": "Falsche PIN.",
        "it": "PIN errato.",
    },
    "vm_no_messages": {
        "fr": "Vous n'avez aucun message.",
        "en": "You have no messages.",
        "de": "Sie haben keine Nachrichten.",
        "it": "Non ha messaggi.",
    },
    "vm_main_menu": {
        "fr": "Tapez 1 pour les nouveaux messages, 2 pour les messages sauvegardés, 0 pour les options de la boîte.",
        "en": "Press 1 for new messages, 2 for saved messages, 0 for mailbox options.",
        "de": "Drücken Sie 1 für neue Nachrichten, 2 für gespeicherte Nachrichten, 0 für die Einstellungen.",
        "it": "Prema 1 per i nuovi messaggi, 2 per i messaggi salvati, 0 per le opzioni della casella.",
    },
    "vm_message_menu": {
        "fr": "Tapez 5 pour réécouter, 4 pour le message précédent, 6 pour le suivant, 7 pour supprimer, "
              "9 pour sauvegarder, 3 pour rappeler, étoile pour revenir au menu.",
        "en": "Press 5 to replay, 4 for the previous message, 6 for the next, 7 to delete, 9 to save, "
              "3 to call back, star for the main menu.",
        "de": "Drücken Sie 5 zum Wiederholen, 4 für die vorige Nachricht, 6 für die nächste, 7 zum Löschen, "
              "9 zum Speichern, 3 für Rückruf, Stern für das Hauptmenü.",
        "it": "Prema 5 per riascoltare, 4 per il messaggio precedente, 6 per il successivo, 7 per cancellare, "
              "9 per salvare, 3 per richiamare, asterisco per il menu principale.",
    },
    "vm_options_menu": {
        "fr": "Tapez 1 pour enregistrer l'annonce d'absence, 2 l'annonce d'occupation, 3 votre nom, "
              "4 pour changer votre code, étoile pour revenir.",
        "en": "Press 1 to record your unavailable greeting, 2 your busy greeting, 3 your name, "
              "4 to change your PIN, star to go back.",
        "de": "Drücken Sie 1 für die Abwesenheitsansage, 2 für die Besetztansage, 3 für Ihren Namen, "
              "4 zum Ändern der PIN, Stern für zurück.",
        "it": "Prema 1 per registrare il messaggio di assenza, 2 quello di occupato, 3 il suo nome, "
              "4 per cambiare il PIN, asterisco per tornare indietro.",
    },
    "vm_new_pin": {
        "fr": "Composez votre nouveau code de 4 à 8 chiffres, puis dièse.",
        "en": "Enter your new PIN of 4 to 8 digits, then hash.",
        "de": "Geben Sie Ihre neue PIN mit 4 bis 8 Ziffern ein, dann Raute.",
        "it": "Digiti il nuovo PIN da 4 a 8 cifre, poi cancelletto.",
    },
    "vm_pin_again": {
        "fr": "Composez à nouveau le nouveau code, puis dièse.",
        "en": "Enter the new PIN again, then hash.",
        "de": "Geben Sie die neue PIN noch einmal ein, dann Raute.",
        "it": "Digiti di nuovo il nuovo PIN, poi cancelletto.",
    },
    "vm_pin_changed": {
        "fr": "Votre code a été changé.",
        "en": "Your PIN has been changed.",
        "de": "Ihre PIN wurde geändert.",
        "it": "Il PIN è stato cambiato.",
    },
    "vm_pin_not_changed": {
        "fr": "Les codes diffèrent ou n'ont pas 4 à 8 chiffres. Le code n'a pas été changé.",
        "en": "The PINs differ or are not 4 to 8 digits. Your PIN was not changed.",
        "de": "Die PINs sind verschieden oder haben nicht 4 bis 8 Ziffern. Die PIN wurde nicht geändert.",
        "it": "I PIN sono diversi o non hanno da 4 a 8 cifre. Il PIN non è stato cambiato.",
    },
    "vm_deleted": {
        "fr": "Message supprimé.",
        "en": "Message deleted.",
        "de": "Nachricht gelöscht.",
        "it": "Messaggio cancellato.",
    },
    "vm_saved": {
        "fr": "Message sauvegardé.",
        "en": "Message saved.",
        "de": "Nachricht gespeichert.",
        "it": "Messaggio salvato.",
    },
    "vm_no_more": {
        "fr": "Il n'y a plus de message.",
        "en": "No more messages.",
        "de": "Keine weiteren Nachrichten.",
        "it": "Non ci sono altri messaggi.",
    },
    "vm_greeting_saved": {
        "fr": "Annonce enregistrée.",
        "en": "Greeting saved.",
        "de": "Ansage gespeichert.",
        "it": "Messaggio di benvenuto salvato.",
    },
    "conf_enter_pin": {
        "fr": "Veuillez composer le code de la conférence, puis dièse.",
        "en": "Please enter the conference PIN, then hash.",
        "de": "Bitte geben Sie die PIN der Konferenz ein, dann Raute.",
        "it": "Digiti il PIN della conferenza, poi cancelletto.",
    },
    "conf_wrong_pin": {
        "fr": "Code incorrect.",
        "en": "Wrong PIN.",
        "de": "Falsche PIN.",
        "it": "PIN errato.",
    },
    "conf_full": {
        "fr": "La conférence est complète.",
        "en": "The conference is full.",
        "de": "Die Konferenz ist voll.",
        "it": "La conferenza è al completo.",
    },
    "conf_locked": {
        "fr": "La conférence est verrouillée.",
        "en": "The conference is locked.",
        "de": "Die Konferenz ist gesperrt.",
        "it": "La conferenza è bloccata.",
    },
    "conf_alone": {
        "fr": "Vous êtes le premier participant.",
        "en": "You are the first participant.",
        "de": "Sie sind der erste Teilnehmer.",
        "it": "Lei è il primo partecipante.",
    },
    "conf_muted_all": {
        "fr": "Tous les participants sont en sourdine.",
        "en": "Everyone is muted.",
        "de": "Alle Teilnehmer sind stummgeschaltet.",
        "it": "Tutti i partecipanti sono silenziati.",
    },
    "conf_unmuted_all": {
        "fr": "Tous les participants peuvent parler.",
        "en": "Everyone can speak.",
        "de": "Alle Teilnehmer können sprechen.",
        "it": "Tutti i partecipanti possono parlare.",
    },
    "conf_lock_on": {
        "fr": "La conférence est maintenant verrouillée.",
        "en": "The conference is now locked.",
        "de": "Die Konferenz ist jetzt gesperrt.",
        "it": "La conferenza è ora bloccata.",
    },
    "conf_lock_off": {
        "fr": "La conférence est maintenant déverrouillée.",
        "en": "The conference is now unlocked.",
        "de": "Die Konferenz ist jetzt entsperrt.",
        "it": "La conferenza è ora sbloccata.",
    },
}


def prompt_path(settings: Settings, name: str, language: str) -> Path:
    """The WAV of announcement `name` in `language` (falls back to English), generated if missing."""
    if name not in TEXTS:
        raise KeyError(f"no system prompt named {name}")
    lang = language if language in LANGUAGES else "en"
    path = settings.sounds_dir / "system" / lang / f"{name}.wav"
    if not path.exists():
        generate(path, TEXTS[name][lang], lang)
    return path


def ensure_all(settings: Settings) -> None:
    """Generate every missing system announcement in every language."""
    for name in TEXTS:
        for lang in LANGUAGES:
            try:
                prompt_path(settings, name, lang)
            except (OSError, subprocess.CalledProcessError) as exc:
                log.error("cannot generate prompt %s/%s: %s", lang, name, exc)


def generate(path: Path, text: str, language: str) -> None:
    """Speak `text` with espeak-ng, convert with sox; the file appears atomically."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise OSError(f"{tool} is not installed: cannot generate system prompts")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = os.path.join(tmp, "raw.wav")
        out = os.path.join(tmp, "out.wav")
        subprocess.run(["espeak-ng", "-v", VOICES[language], "-s", "150", "-w", raw, text],
                       check=True, capture_output=True, timeout=60)
        # 16 kHz mono 16-bit; a little silence around it so nothing is clipped.
        subprocess.run(["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", out, "pad", "0.2", "0.4"],
                       check=True, capture_output=True, timeout=60)
        os.replace(out, path)
    log.info("generated system prompt %s", path)
