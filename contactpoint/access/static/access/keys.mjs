// After a security key is added, show the account page afresh so the new key is listed.
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
