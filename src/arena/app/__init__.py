"""The Streamlit course site."""
